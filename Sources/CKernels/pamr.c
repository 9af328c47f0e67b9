// PAMR, pixel-adaptive mask refinement (docs/DENSE-MODES.md §3): each pixel's scores become the average of its
// neighbours' at a few dilations, weighted by how alike their colours are. It runs at the image's full size over
// every class. Images and scores are kept in padded rows (lm_pamr_spread): `left` columns before each row and more
// after it repeat the row's end values, so every neighbour of a row is a contiguous run at a fixed offset and the
// loops need no clamping at the borders (rows are clamped once per row).
#include "CKernels.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#pragma clang fp contract(fast)

#include "multiversion.h"

static inline int clamp(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

// The 8 neighbour offsets of dilation d, in the order the weights are stored. A column offset beyond the row
// reaches the same end value as one of exactly the row's width, so columns are capped at ±w.
static void offsets(const int *dilations, int count, int w, int dy[], int dx[]) {
    int n = 0;
    for (int k = 0; k < count && k < 64; k++) {
        const int d = dilations[k];
        for (int i = -1; i <= 1; i++) {
            for (int j = -1; j <= 1; j++) {
                if (i == 0 && j == 0) continue;
                dy[n] = i * d;
                dx[n] = clamp(j * d, -w, w);
                n++;
            }
        }
    }
}

// Fills the padding of one padded row.
static void pad(float *row, int w, int stride, int left) {
    for (int x = 0; x < left; x++) row[x] = row[left];
    for (int x = left + w; x < stride; x++) row[x] = row[left + w - 1];
}

// Where padded row r (row r % h of plane r / h) starts.
static long row_offset(long r, int h, int stride, long plane) { return r / h * plane + r % h * stride; }

void lm_pamr_pad(float *padded, long row_from, long row_to, int h, int w, int stride, int left, long plane) {
    for (long r = row_from; r < row_to; r++) pad(padded + row_offset(r, h, stride, plane), w, stride, left);
}

void lm_pamr_spread(const float *packed, float *padded, long row_from, long row_to, int h, int w, int stride, int left,
                    long plane) {
    for (long r = row_from; r < row_to; r++) {
        float *row = padded + row_offset(r, h, stride, plane);
        memcpy(row + left, packed + r * w, sizeof(float) * (size_t)w);
        pad(row, w, stride, left);
    }
}

void lm_pamr_gather(const float *padded, float *packed, long row_from, long row_to, int h, int w, int stride, int left,
                    long plane) {
    for (long r = row_from; r < row_to; r++)
        memcpy(packed + r * w, padded + row_offset(r, h, stride, plane) + left, sizeof(float) * (size_t)w);
}

// Row by row, vectorised across the row: the channel's spread over the centre (counted once per dilation) and its
// neighbours (two passes: mean, then squares), the weights' logits, and their softmax over neighbours, worked out
// in the affinity rows themselves.
MULTIVERSION
void lm_pamr_affinity(const float *image, int h, int w, int stride, int left, long plane, const int *dilations,
                      int count, float *affinity, int row_from, int row_to) {
    const int neighbours = 8 * count;
    int dy[64 * 8], dx[64 * 8];
    offsets(dilations, count, w, dy, dx);
    float *mean = malloc(sizeof(float) * (size_t)w), *scale = malloc(sizeof(float) * (size_t)w);
    if (!mean || !scale) abort();
    const int values = 9 * count;
    const float *near[64 * 8];
    for (int y = row_from; y < row_to; y++) {
        float *kappa[64 * 8];
        for (int n = 0; n < neighbours; n++) {
            kappa[n] = affinity + n * plane + (size_t)y * stride;
            for (int x = 0; x < stride; x++) kappa[n][x] = 0;  // the columns past w too, which the step reads
        }
        for (int ch = 0; ch < 3; ch++) {
            const float *centre = image + ch * plane + (size_t)y * stride + left;
            for (int n = 0; n < neighbours; n++) near[n] = image + ch * plane + (size_t)clamp(y + dy[n], 0, h - 1) * stride + left + dx[n];
            for (int x = 0; x < w; x++) mean[x] = (float)count * centre[x];
            for (int n = 0; n < neighbours; n++) {
                const float *v = near[n];
                for (int x = 0; x < w; x++) mean[x] += v[x];
            }
            for (int x = 0; x < w; x++) {
                mean[x] /= (float)values;
                const float d = centre[x] - mean[x];
                scale[x] = (float)count * d * d;
            }
            for (int n = 0; n < neighbours; n++) {
                const float *v = near[n];
                for (int x = 0; x < w; x++) scale[x] += (v[x] - mean[x]) * (v[x] - mean[x]);
            }
            // scale = 1 / (1e-8 + 0.1 σ) / 3, σ the unbiased standard deviation; the 3 averages the channels.
            for (int x = 0; x < w; x++) scale[x] = 1.0f / (3.0f * (1e-8f + 0.1f * sqrtf(scale[x] / (float)(values - 1))));
            for (int n = 0; n < neighbours; n++) {
                const float *v = near[n];
                float *k = kappa[n];
                for (int x = 0; x < w; x++) k[x] -= fabsf(centre[x] - v[x]) * scale[x];
            }
        }
        // Softmax over the neighbours, for every pixel of the row at once.
        for (int x = 0; x < w; x++) mean[x] = kappa[0][x];
        for (int n = 1; n < neighbours; n++) {
            const float *k = kappa[n];
            for (int x = 0; x < w; x++) mean[x] = k[x] > mean[x] ? k[x] : mean[x];
        }
        for (int n = 0; n < neighbours; n++) {
            float *k = kappa[n];
            for (int x = 0; x < w; x++) k[x] -= mean[x];
            lm_exp(k, k, w);
        }
        for (int x = 0; x < w; x++) scale[x] = 0;
        for (int n = 0; n < neighbours; n++) {
            const float *k = kappa[n];
            for (int x = 0; x < w; x++) scale[x] += k[x];
        }
        for (int n = 0; n < neighbours; n++) {
            float *k = kappa[n];
            for (int x = 0; x < w; x++) k[x] /= scale[x];
        }
    }
    free(mean);
    free(scale);
}

// Eight floats, read and written at any address (as the compiler's own unaligned vector types are). No function
// takes or returns one, and the step's helpers are always inlined: an unoptimised build inlines nothing else, and
// would pass a vector differently between the AVX clone of a kernel and a helper built for baseline x86-64.
typedef float v8 __attribute__((vector_size(32), aligned(4), may_alias));
#define ALWAYS_INLINE static inline __attribute__((always_inline))

// `classes` (a constant once inlined) classes' output row, 16 columns at a time: their sums stay in registers while
// every neighbour adds in, and each neighbour's weights are loaded once for all of them.
ALWAYS_INLINE void step_row(const int classes, const float *weights, size_t plane, const float *source,
                            const ptrdiff_t *shift, int neighbours, float *target, int w) {
    for (int x = 0; x < w; x += 16) {
        v8 sum[4][2] = {{0}};
        for (int n = 0; n < neighbours; n++) {
            const v8 *a = (const v8 *)(weights + n * plane + x);
            const float *s = source + shift[n] + x;
            for (int c = 0; c < classes; c++) {
                const v8 *v = (const v8 *)(s + c * plane);
                sum[c][0] += a[0] * v[0];
                sum[c][1] += a[1] * v[1];
            }
        }
        for (int c = 0; c < classes; c++) {
            v8 *out = (v8 *)(target + c * plane + x);
            out[0] = sum[c][0];
            out[1] = sum[c][1];
        }
    }
}

// One iteration's row y of classes class_from..<class_to, four classes at a time, then the row's padding.
ALWAYS_INLINE void step(const float *affinity, const float *source, float *target, int h, int w, int stride, int left,
                        size_t plane, const int *dy, const int *dx, int neighbours, int class_from, int class_to, int y) {
    ptrdiff_t shift[64 * 8];
    for (int n = 0; n < neighbours; n++) shift[n] = (ptrdiff_t)clamp(y + dy[n], 0, h - 1) * stride + left + dx[n];
    const float *weights = affinity + (size_t)y * stride;
    for (int c = class_from; c < class_to; c += 4) {
        const float *from = source + c * plane;
        float *to = target + c * plane + (size_t)y * stride + left;
        switch (class_to - c) {
        case 1: step_row(1, weights, plane, from, shift, neighbours, to, w); break;
        case 2: step_row(2, weights, plane, from, shift, neighbours, to, w); break;
        case 3: step_row(3, weights, plane, from, shift, neighbours, to, w); break;
        default: step_row(4, weights, plane, from, shift, neighbours, to, w); break;
        }
    }
    for (int c = class_from; c < class_to; c++) pad(target + c * plane + (size_t)y * stride, w, stride, left);
}

// `depth` iterations at a time in one sweep down the image, so each row's scores are used again while they are still
// in cache rather than read back from memory once per iteration: iteration t works `lag` rows (the farthest neighbour row)
// behind iteration t - 1, whose rows it reads are then all done. Two buffers suffice: iteration t writes row r over
// iteration t - 2's row r, which iteration t - 1 no longer needs once it has passed row r + lag (it did, earlier in
// the same sweep position or before).
MULTIVERSION
void lm_pamr_iterate(const float *affinity, float *first, float *second, int h, int w, int stride, int left, long plane,
                     const int *dilations, int count, int iterations, int depth, int class_from, int class_to) {
    const int neighbours = 8 * count;
    int dy[64 * 8], dx[64 * 8];
    offsets(dilations, count, w, dy, dx);
    int lag = 0;
    for (int n = 0; n < neighbours; n++) lag = dy[n] > lag ? dy[n] : lag;
    lag = lag < h - 1 ? lag : h - 1;
    float *buffers[2] = {first, second};
    depth = depth < 1 ? 1 : depth;
    for (int done = 0; done < iterations; done += depth) {
        const int levels = iterations - done < depth ? iterations - done : depth;
        for (int s = 0; s < h + (levels - 1) * lag; s++) {
            for (int t = 0; t < levels; t++) {
                const int y = s - t * lag;
                if (y < 0) break;
                if (y >= h) continue;
                step(affinity, buffers[(done + t) % 2], buffers[(done + t + 1) % 2], h, w, stride, left, (size_t)plane,
                     dy, dx, neighbours, class_from, class_to, y);
            }
        }
    }
}
