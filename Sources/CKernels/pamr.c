// PAMR, pixel-adaptive mask refinement (docs/DENSE-MODES.md §3): each pixel's scores become the average of its
// neighbours' at a few dilations, weighted by how alike their colours are. It runs at the image's full size over
// every class, so the inner loops are contiguous rows that the compiler vectorises (the border columns, whose
// neighbours are clamped, are done one by one).
#include "CKernels.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#pragma clang fp contract(fast)

#include "multiversion.h"

static inline int clamp(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }


// The 8 neighbour offsets of dilation d, in the order the weights are stored.
static void offsets(int d, int dy[8], int dx[8]) {
    int n = 0;
    for (int i = -1; i <= 1; i++) {
        for (int j = -1; j <= 1; j++) {
            if (i == 0 && j == 0) continue;
            dy[n] = i * d;
            dx[n] = j * d;
            n++;
        }
    }
}

// Row by row, vectorised across the row: each neighbour's values as a shifted, clamped copy of an image row, then
// the channel's spread (two passes: mean, then squares), the weights' logits, and their softmax over neighbours.
void lm_pamr_affinity(const float *image, int h, int w, const int *dilations, int count, float *affinity, int row_from,
                      int row_to) {
    const size_t plane = (size_t)h * w;
    const int neighbours = 8 * count;
    int dy[64 * 8], dx[64 * 8];
    for (int k = 0; k < count && k < 64; k++) offsets(dilations[k], dy + 8 * k, dx + 8 * k);
    float *near = malloc(sizeof(float) * (size_t)neighbours * w);    // one channel's neighbours of one row
    float *kappa = malloc(sizeof(float) * (size_t)neighbours * w);
    float *mean = malloc(sizeof(float) * (size_t)w), *scale = malloc(sizeof(float) * (size_t)w);
    if (!near || !kappa || !mean || !scale) abort();
    const int values = 9 * count;
    for (int y = row_from; y < row_to; y++) {
        for (size_t i = 0; i < (size_t)neighbours * w; i++) kappa[i] = 0;
        for (int ch = 0; ch < 3; ch++) {
            const float *centre = image + ch * plane + (size_t)y * w;
            for (int n = 0; n < neighbours; n++) {
                const float *row = image + ch * plane + (size_t)clamp(y + dy[n], 0, h - 1) * w;
                float *out = near + (size_t)n * w;
                for (int x = 0; x < w; x++) out[x] = row[clamp(x + dx[n], 0, w - 1)];
            }
            for (int x = 0; x < w; x++) mean[x] = (float)count * centre[x];
            for (int n = 0; n < neighbours; n++) {
                const float *v = near + (size_t)n * w;
                for (int x = 0; x < w; x++) mean[x] += v[x];
            }
            for (int x = 0; x < w; x++) {
                mean[x] /= (float)values;
                const float d = centre[x] - mean[x];
                scale[x] = (float)count * d * d;
            }
            for (int n = 0; n < neighbours; n++) {
                const float *v = near + (size_t)n * w;
                for (int x = 0; x < w; x++) scale[x] += (v[x] - mean[x]) * (v[x] - mean[x]);
            }
            // scale = 1 / (1e-8 + 0.1 σ) / 3, σ the unbiased standard deviation; the 3 averages the channels.
            for (int x = 0; x < w; x++) scale[x] = 1.0f / (3.0f * (1e-8f + 0.1f * sqrtf(scale[x] / (float)(values - 1))));
            for (int n = 0; n < neighbours; n++) {
                const float *v = near + (size_t)n * w;
                float *k = kappa + (size_t)n * w;
                for (int x = 0; x < w; x++) k[x] -= fabsf(centre[x] - v[x]) * scale[x];
            }
        }
        // Softmax over the neighbours, for every pixel of the row at once.
        for (int x = 0; x < w; x++) mean[x] = kappa[x];
        for (int n = 1; n < neighbours; n++) {
            const float *k = kappa + (size_t)n * w;
            for (int x = 0; x < w; x++) mean[x] = k[x] > mean[x] ? k[x] : mean[x];
        }
        for (int n = 0; n < neighbours; n++) {
            float *k = kappa + (size_t)n * w;
            for (int x = 0; x < w; x++) k[x] -= mean[x];
            lm_exp(k, k, w);
        }
        for (int x = 0; x < w; x++) scale[x] = 0;
        for (int n = 0; n < neighbours; n++) {
            const float *k = kappa + (size_t)n * w;
            for (int x = 0; x < w; x++) scale[x] += k[x];
        }
        for (int n = 0; n < neighbours; n++) {
            const float *k = kappa + (size_t)n * w;
            float *a = affinity + n * plane + (size_t)y * w;
            for (int x = 0; x < w; x++) a[x] = k[x] / scale[x];
        }
    }
    free(near);
    free(kappa);
    free(mean);
    free(scale);
}

// One neighbour's share of one class's output row: out[x] += a[x] · row[x + shift], the neighbour clamped to the
// row at its ends.
static inline void accumulate(float *restrict out, const float *restrict a, const float *restrict row, int w, int shift) {
    // Columns whose neighbour is inside the row: a contiguous, vectorised loop.
    const int lo = shift < 0 ? (-shift < w ? -shift : w) : 0;
    const int hi = shift > 0 ? (w - shift > 0 ? w - shift : 0) : w;
    for (int x = 0; x < lo; x++) out[x] += a[x] * row[clamp(x + shift, 0, w - 1)];
    for (int x = lo; x < hi; x++) out[x] += a[x] * row[x + shift];
    for (int x = hi > lo ? hi : lo; x < w; x++) out[x] += a[x] * row[clamp(x + shift, 0, w - 1)];
}

// Row by row and class by class: one output row stays in the core's first-level cache while every neighbour adds
// into it (1.2× faster than taking the neighbours outside the classes, on 500×375 with 21 classes).
MULTIVERSION
void lm_pamr_step(const float *affinity, const float *source, float *target, int h, int w, const int *dilations, int count,
                  int classes, int row_from, int row_to) {
    const size_t plane = (size_t)h * w;
    const int neighbours = 8 * count;
    int dy[64 * 8], dx[64 * 8];
    for (int k = 0; k < count && k < 64; k++) offsets(dilations[k], dy + 8 * k, dx + 8 * k);
    for (int y = row_from; y < row_to; y++) {
        for (int c = 0; c < classes; c++) {
            float *out = target + c * plane + (size_t)y * w;
            for (int x = 0; x < w; x++) out[x] = 0;
            for (int n = 0; n < neighbours; n++) {
                const float *a = affinity + n * plane + (size_t)y * w;
                accumulate(out, a, source + c * plane + (size_t)clamp(y + dy[n], 0, h - 1) * w, w, dx[n]);
            }
        }
    }
}
