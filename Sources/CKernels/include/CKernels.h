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

/// PAMR's padded planes: planes of h rows, `plane` floats apart, each row `stride` floats holding w values from
/// column `left`, the columns before and after them repeating the row's first and last value. Rows are numbered
/// across the planes: row r is row r % h of plane r / h. Copies rows row_from..<row_to of w floats from `packed`
/// into padded rows of `padded`, padding included.
void lm_pamr_spread(const float *packed, float *padded, long row_from, long row_to, int h, int w, int stride, int left,
                    long plane);
/// The inverse of lm_pamr_spread: copies the padded rows' values into packed rows.
void lm_pamr_gather(const float *padded, float *packed, long row_from, long row_to, int h, int w, int stride, int left,
                    long plane);
/// Fills the padding of padded rows row_from..<row_to whose values are written.
void lm_pamr_pad(float *padded, long row_from, long row_to, int h, int w, int stride, int left, long plane);
/// PAMR's weights (docs/DENSE-MODES.md §3) for rows row_from..<row_to: image [3 planes] in padded planes, with
/// `left` and stride - left - w ≥ left columns of padding, left ≥ min(largest dilation, w); `count` dilations (at
/// most 64); affinity [8·count planes], columns 0..<w of each row the pixel's weights over its 8·count neighbours,
/// summing to 1.
void lm_pamr_affinity(const float *image, int h, int w, int stride, int left, long plane, const int *dilations,
                      int count, float *affinity, int row_from, int row_to);
/// PAMR's iterations for classes class_from..<class_to, `depth` of them per sweep down the image, each
/// scores[c][p] = Σ_n affinity[n][p] · previous[c][neighbour n of p] (borders replicate): `first` holds the scores
/// and `second` takes turns with it, both a plane per class in padded planes as for lm_pamr_affinity, with at least
/// left + w rounded up to 16 + min(largest dilation, w) columns. The result is in `first` after an even number of
/// iterations, in `second` after an odd one.
void lm_pamr_iterate(const float *affinity, float *first, float *second, int h, int w, int stride, int left, long plane,
                     const int *dilations, int count, int iterations, int depth, int class_from, int class_to);

/// Vector exp (PAMR's softmax, and the tests): out[i] = e^x[i].
void lm_exp(const float *x, float *out, long n);
/// Vector erf, for the tests.
void lm_erf(const float *x, float *out, long n);

#ifdef __cplusplus
}
#endif

#endif
