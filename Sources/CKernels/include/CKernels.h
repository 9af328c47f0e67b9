// Element-wise kernels between the GEMMs: layer norm, softmax, GELU variants, residual add.
//
// Written as plain loops over floats that the compiler vectorises, and compiled for AVX-512, AVX2 and baseline
// x86-64 with the best picked at load time (target_clones), so one binary uses the wide registers where the
// CPU has them. Each has a naive Swift twin in the tests.
#ifndef CKERNELS_H
#define CKERNELS_H

#ifdef __cplusplus
extern "C" {
#endif

/// y[r] = (x[r] - mean) / sqrt(var + eps) * w + b for each of `rows` rows of `cols` floats.
void lm_layer_norm(const float *x, float *y, int rows, int cols, const float *w, const float *b, float eps);

/// Softmax of each row of `cols` values (stride `ld`) after multiplying by `scale`. With `causal`, row i
/// (counted from `first_row`) sees columns 0...first_row+i only; later columns become 0.
void lm_softmax_rows(float *x, int rows, int cols, int ld, float scale, int causal, int first_row);

/// In place: x·σ(1.702x).
void lm_quick_gelu(float *x, long n);
/// In place: 0.5·x·(1 + erf(x/√2)).
void lm_gelu_erf(float *x, long n);
/// In place: 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))).
void lm_gelu_tanh(float *x, long n);

/// x += y.
void lm_add(float *x, const float *y, long n);

/// PAMR's weights (docs/DENSE-MODES.md §3) for rows row_from..<row_to: image [3, h, w]; `count` dilations (at most
/// 64); affinity [8·count, h, w], each pixel's weights over its 8·count neighbours summing to 1.
void lm_pamr_affinity(const float *image, int h, int w, const int *dilations, int count, float *affinity, int row_from,
                      int row_to);
/// One PAMR iteration for rows row_from..<row_to: target[c][p] = Σ_n affinity[n][p] · source[c][neighbour n of p]
/// (borders replicate), source and target [classes, h, w].
void lm_pamr_step(const float *affinity, const float *source, float *target, int h, int w, const int *dilations, int count,
                  int classes, int row_from, int row_to);

/// Vector exp, for the tests: out[i] = e^x[i].
void lm_exp(const float *x, float *out, long n);
/// Vector erf, for the tests.
void lm_erf(const float *x, float *out, long n);

#ifdef __cplusplus
}
#endif

#endif
