#include "CKernels.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

// Row sums vectorise only when the compiler may reorder them, and multiply-adds may fuse: the kernels are
// written for that (fast_exp and fast_erf turn reordering off where their accuracy depends on the order).
#pragma clang fp reassociate(on)
#pragma clang fp contract(fast)

#include "multiversion.h"

static inline float bits_to_float(int32_t i) {
    float f;
    memcpy(&f, &i, sizeof f);
    return f;
}

// e^x to about 2 ulp on [-87.3, 88.3]: x = n·ln2 + r with |r| <= ln2/2, a degree-6 polynomial for e^r, and 2^n
// built in the exponent bits. Below the range the result is 0.
static inline float fast_exp(float x) {
    // The range reduction relies on evaluation order: keep the compiler from reassociating it.
#pragma clang fp reassociate(off)
    float c = x < -87.3f ? -87.3f : (x > 88.3f ? 88.3f : x);
    float n = rintf(c * 1.44269504f);
    float r = c - n * 0.693145752f;
    r = r - n * 1.42860677e-6f;
    float p = 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    float scale = bits_to_float(((int32_t)n + 127) << 23);
    return x < -87.3f ? 0.0f : p * scale;
}

// erf through erfc(|x|) = t·exp(-x² + P(t)), t = 1/(1 + |x|/2): Chebyshev-fitted coefficients with relative
// error below 1.2e-7 (Numerical Recipes).
static inline float fast_erf(float x) {
#pragma clang fp reassociate(off)
    float z = fabsf(x);
    float t = 1.0f / (1.0f + 0.5f * z);
    float p = 0.17087277f;
    p = p * t - 0.82215223f;
    p = p * t + 1.48851587f;
    p = p * t - 1.13520398f;
    p = p * t + 0.27886807f;
    p = p * t - 0.18628806f;
    p = p * t + 0.09678418f;
    p = p * t + 0.37409196f;
    p = p * t + 1.00002368f;
    p = p * t - 1.26551223f;
    float e = 1.0f - t * fast_exp(p - z * z);
    return x < 0 ? -e : e;
}

MULTIVERSION
void lm_layer_norm(const float *x, float *y, int rows, int cols, const float *w, const float *b, float eps) {
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (long)r * cols;
        float *yr = y + (long)r * cols;
        float sum = 0;
        for (int i = 0; i < cols; i++) sum += xr[i];
        float mean = sum / cols;
        float squares = 0;
        for (int i = 0; i < cols; i++) {
            float d = xr[i] - mean;
            squares += d * d;
        }
        float rstd = 1.0f / sqrtf(squares / cols + eps);
        for (int i = 0; i < cols; i++) yr[i] = (xr[i] - mean) * rstd * w[i] + b[i];
    }
}

MULTIVERSION
void lm_softmax_rows(float *x, int rows, int cols, int ld, float scale, int causal, int first_row) {
    for (int r = 0; r < rows; r++) {
        float *row = x + (long)r * ld;
        int visible = causal ? first_row + r + 1 : cols;
        if (visible > cols) visible = cols;
        // The maximum in sixteen lanes: a compare-and-select reduction is not reordered on its own, and one
        // dependent chain of them costs four times the rest of the softmax.
        float lanes[16];
        for (int j = 0; j < 16; j++) lanes[j] = row[0];
        int i = 0;
        for (; i + 16 <= visible; i += 16) {
            for (int j = 0; j < 16; j++) lanes[j] = row[i + j] > lanes[j] ? row[i + j] : lanes[j];
        }
        float top = lanes[0];
        for (int j = 1; j < 16; j++) top = lanes[j] > top ? lanes[j] : top;
        for (; i < visible; i++) top = row[i] > top ? row[i] : top;
        float shift = top * scale;
        float sum = 0;
        for (int i = 0; i < visible; i++) {
            float e = fast_exp(row[i] * scale - shift);
            row[i] = e;
            sum += e;
        }
        float inverse = 1.0f / sum;
        for (int i = 0; i < visible; i++) row[i] *= inverse;
        for (int i = visible; i < cols; i++) row[i] = 0;
    }
}

MULTIVERSION
void lm_quick_gelu(float *x, long n) {
    for (long i = 0; i < n; i++) x[i] = x[i] / (1.0f + fast_exp(-1.702f * x[i]));
}

MULTIVERSION
void lm_gelu_erf(float *x, long n) {
    for (long i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + fast_erf(x[i] * 0.70710678f));
}

MULTIVERSION
void lm_gelu_tanh(float *x, long n) {
    for (long i = 0; i < n; i++) {
        float u = 0.79788456f * (x[i] + 0.044715f * x[i] * x[i] * x[i]);
        // tanh(u) = 1 - 2 / (e^{2u} + 1)
        x[i] = 0.5f * x[i] * (2.0f - 2.0f / (fast_exp(2.0f * u) + 1.0f));
    }
}

MULTIVERSION
void lm_add(float *x, const float *y, long n) {
    for (long i = 0; i < n; i++) x[i] += y[i];
}

MULTIVERSION
void lm_exp(const float *x, float *out, long n) {
    for (long i = 0; i < n; i++) out[i] = fast_exp(x[i]);
}

void lm_erf(const float *x, float *out, long n) {
    for (long i = 0; i < n; i++) out[i] = fast_erf(x[i]);
}
