// PAMR, pixel-adaptive mask refinement (docs/DENSE-MODES.md §3): each pixel's scores become the average of its
// neighbours' at a few dilations, weighted by how alike their colours are. It runs at the image's full size over
// every class, so the inner loops are contiguous rows that the compiler vectorises (the border columns, whose
// neighbours are clamped, are done one by one).
#include "CKernels.h"

#include <math.h>
#include <stddef.h>

#pragma clang fp contract(fast)

#if defined(__x86_64__) && defined(__clang__)
#define MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define MULTIVERSION
#endif

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

void lm_pamr_affinity(const float *image, int h, int w, const int *dilations, int count, float *affinity, int row_from,
                      int row_to) {
    const size_t plane = (size_t)h * w;
    const int neighbours = 8 * count;
    int dy[64 * 8], dx[64 * 8];
    for (int k = 0; k < count && k < 64; k++) offsets(dilations[k], dy + 8 * k, dx + 8 * k);
    float kappa[64 * 8];
    for (int y = row_from; y < row_to; y++) {
        for (int x = 0; x < w; x++) {
            const size_t p = (size_t)y * w + x;
            for (int n = 0; n < neighbours; n++) kappa[n] = 0;
            for (int ch = 0; ch < 3; ch++) {
                const float *c = image + ch * plane;
                const float centre = c[p];
                // Unbiased standard deviation of the 9 values of every dilation (the centre once per dilation).
                double sum = 0, squares = 0;
                for (int n = 0; n < neighbours; n++) {
                    const float v = c[(size_t)clamp(y + dy[n], 0, h - 1) * w + clamp(x + dx[n], 0, w - 1)];
                    sum += v;
                    squares += (double)v * v;
                }
                sum += (double)count * centre;
                squares += (double)count * centre * centre;
                const int values = 9 * count;
                double variance = (squares - sum * sum / values) / (values - 1);
                const float sigma = (float)sqrt(variance > 0 ? variance : 0);
                const float scale = 1.0f / (1e-8f + 0.1f * sigma);
                for (int n = 0; n < neighbours; n++) {
                    const float v = c[(size_t)clamp(y + dy[n], 0, h - 1) * w + clamp(x + dx[n], 0, w - 1)];
                    kappa[n] -= fabsf(centre - v) * scale / 3.0f;
                }
            }
            // Softmax over the neighbours.
            float top = kappa[0];
            for (int n = 1; n < neighbours; n++) top = kappa[n] > top ? kappa[n] : top;
            float total = 0;
            for (int n = 0; n < neighbours; n++) {
                kappa[n] = expf(kappa[n] - top);
                total += kappa[n];
            }
            for (int n = 0; n < neighbours; n++) affinity[n * plane + p] = kappa[n] / total;
        }
    }
}

MULTIVERSION
void lm_pamr_step(const float *affinity, const float *source, float *target, int h, int w, const int *dilations, int count,
                  int class_from, int class_to) {
    const size_t plane = (size_t)h * w;
    const int neighbours = 8 * count;
    int dy[64 * 8], dx[64 * 8];
    for (int k = 0; k < count && k < 64; k++) offsets(dilations[k], dy + 8 * k, dx + 8 * k);
    for (int c = class_from; c < class_to; c++) {
        const float *src = source + c * plane;
        float *dst = target + c * plane;
        for (int y = 0; y < h; y++) {
            float *out = dst + (size_t)y * w;
            for (int x = 0; x < w; x++) out[x] = 0;
            for (int n = 0; n < neighbours; n++) {
                const float *a = affinity + n * plane + (size_t)y * w;
                const float *row = src + (size_t)clamp(y + dy[n], 0, h - 1) * w;
                const int shift = dx[n];
                // Columns whose neighbour is inside the row: a contiguous, vectorisable loop.
                const int lo = shift < 0 ? (-shift < w ? -shift : w) : 0;
                const int hi = shift > 0 ? (w - shift > 0 ? w - shift : 0) : w;
                for (int x = 0; x < lo; x++) out[x] += a[x] * row[clamp(x + shift, 0, w - 1)];
                for (int x = lo; x < hi; x++) out[x] += a[x] * row[x + shift];
                for (int x = hi > lo ? hi : lo; x < w; x++) out[x] += a[x] * row[clamp(x + shift, 0, w - 1)];
            }
        }
    }
}
