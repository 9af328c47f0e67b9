// oneDNN (Debian's libdnnl2), loaded at run time with dlopen.
//
// labelmill's matrix products run on oneDNN where it is installed: its single-precision GEMM is faster than
// OpenBLAS's on AVX-512 CPUs, and it has the bf16 matrix products (vdpbf16ps, AMX) that OpenBLAS 0.3.21 lacks.
// Loading it at run time keeps it optional: without it labelmill runs fp32 on OpenBLAS.
#ifndef CONEDNN_H
#define CONEDNN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Loads libdnnl.so.2 (or libdnnl.so). Returns 0, or -1 with a message in `error`.
int lm_dnnl_load(char *error, size_t error_size);

/// "major.minor.patch" of the loaded library; "" when not loaded.
const char *lm_dnnl_version(void);

/// The instruction set oneDNN's kernels use: 2 = AMX (bf16 tiles), 1 = AVX-512 with bf16 dot products,
/// 0 = no bf16 matrix products; -1 when not loaded.
int lm_dnnl_bf16_level(void);

/// Threads for oneDNN's products (OpenMP), applied on whichever thread calls next.
void lm_dnnl_set_threads(int threads);

/// Row-major single-precision GEMM: C = alpha * op(A) * op(B) + beta * C, on `lm_dnnl_set_threads` threads, or
/// on the calling thread alone when `serial` (several threads may then each run one). Returns 0 or a oneDNN status.
int lm_dnnl_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
                  const float *b, int ldb, float beta, float *c, int ldc, int serial);

/// A linear layer's weight W [out, in] converted once to bf16, for y = x·Wᵀ + b with fp32 accumulation.
typedef struct lm_bf16_weight lm_bf16_weight;

/// Converts W (round to nearest even); NULL when out of memory.
lm_bf16_weight *lm_bf16_weight_create(const float *weight, int out_features, int in_features);
void lm_bf16_weight_free(lm_bf16_weight *weight);

/// y [rows, out] = bf16(x) [rows, in] · bf16(W)ᵀ (+ bias [out], when not NULL), accumulated and written in fp32.
/// Returns 0 or a oneDNN status.
int lm_bf16_linear(const lm_bf16_weight *weight, const float *x, int rows, const float *bias, float *y);

/// Rounds to bf16 and back (nearest even), for tests and for documenting the rounding.
float lm_bf16_round(float x);

/// How many times as many multiply-adds per second this core does with bf16 dot products (vdpbf16ps on 512-bit
/// registers) as with fp32 FMAs, timed over about a millisecond each; 0 when the CPU lacks AVX512-BF16.
double lm_cpu_bf16_fma_ratio(void);

#ifdef __cplusplus
}
#endif

#endif
