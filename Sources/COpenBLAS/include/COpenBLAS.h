// OpenBLAS, loaded at run time with dlopen.
//
// Debian's OpenBLAS 0.3.21 picks its kernel once, in a library constructor, from CPUID; on CPUs it does not
// know it falls back to the generic "Prescott" kernel, several times slower. Loading it ourselves lets
// labelmill look at the kernel it picked and, if it is generic on a CPU with AVX2 or AVX-512, unload it and
// load it again with OPENBLAS_CORETYPE set to the right kernel before it initialises.
#ifndef COPENBLAS_H
#define COPENBLAS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Loads the library (first of libopenblas.so.0, libopenblas.so). Returns 0, or -1 with a message in `error`.
/// Calling it again after lm_blas_unload loads it again (and re-runs its kernel detection).
int lm_blas_load(char *error, size_t error_size);

/// Unloads the library; returns 0 when the loader really dropped it.
int lm_blas_unload(void);

/// The kernel OpenBLAS runs ("SkylakeX", "Haswell", "Prescott", ...); "" when not loaded.
const char *lm_blas_corename(void);

/// The library file that was loaded.
const char *lm_blas_path(void);

void lm_blas_set_threads(int threads);
int lm_blas_threads(void);

/// The CPUs this process may use: those of its affinity mask (taskset, systemd's CPUAffinity=), at most its
/// cgroup's CPU quota rounded up (a container's CPU limit).
int lm_cpus_available(void);

/// The cgroup's CPU quota rounded up to whole CPUs; 0 when there is none.
int lm_cpu_quota(void);

/// The affinity mask: cpus[i] = 1 for each CPU i < capacity this process may run on. Returns how many, or -1.
int lm_cpu_affinity(unsigned char *cpus, int capacity);

/// CPU features, from CPUID (and XGETBV for OS support of the wide registers).
int lm_cpu_has_avx2_fma(void);
int lm_cpu_has_avx512(void);  // F, CD, BW, DQ and VL: what OpenBLAS's SkylakeX kernels need

/// Row-major single-precision GEMM: C = alpha * op(A) * op(B) + beta * C.
void lm_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
              const float *b, int ldb, float beta, float *c, int ldc);

#ifdef __cplusplus
}
#endif

#endif
