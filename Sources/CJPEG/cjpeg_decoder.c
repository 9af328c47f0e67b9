// JPEG through TurboJPEG: decoding (header first, then pixels into the caller's buffer) and encoding
// (the workers' gallery thumbnails).
#include "CJPEG.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

static int fail(char *message, int status, const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(message, CJPEG_MESSAGE_CAPACITY, format, arguments);
    va_end(arguments);
    return status;
}

static int read_header(tjhandle tj, const uint8_t *data, size_t size, cjpeg_header *h, char *message) {
    memset(h, 0, sizeof *h);
    int width = 0, height = 0, subsampling = 0, colorspace = 0;
    if (tjDecompressHeader3(tj, data, (unsigned long)size, &width, &height, &subsampling, &colorspace) != 0)
        return fail(message, CJPEG_BAD_IMAGE, "%s", tjGetErrorStr2(tj));
    if (width <= 0 || height <= 0)
        return fail(message, CJPEG_BAD_IMAGE, "JPEG header declares %dx%d pixels", width, height);
    h->width = (uint32_t)width;
    h->height = (uint32_t)height;
    switch (colorspace) {
    case TJCS_RGB: h->colorspace = CJPEG_COLORSPACE_RGB; break;
    case TJCS_GRAY: h->colorspace = CJPEG_COLORSPACE_GRAY; break;
    case TJCS_CMYK: h->colorspace = CJPEG_COLORSPACE_CMYK; break;
    case TJCS_YCCK: h->colorspace = CJPEG_COLORSPACE_YCCK; break;
    default: h->colorspace = CJPEG_COLORSPACE_YCBCR; break;
    }
    return CJPEG_OK;
}

// TurboJPEG returns -1 for warnings too. "Premature end of JPEG file" means the data ran out and the
// rest of the image was invented, so it is an error (PIL says "image file is truncated"); other
// warnings mean libjpeg recovered from corrupt data and the image is accepted, as PIL accepts it.
// TurboJPEG keeps only the first warning's text; a truncated file's first warning is this one.
static int decompress(tjhandle tj, const uint8_t *data, size_t size, uint8_t *dst, const cjpeg_header *h,
                      int pixel_format, char *message) {
    int pitch = (int)h->width * tjPixelSize[pixel_format];
    if (tjDecompress2(tj, data, (unsigned long)size, dst, (int)h->width, pitch, (int)h->height, pixel_format, 0) == 0)
        return CJPEG_OK;
    const char *text = tjGetErrorStr2(tj);
    if (tjGetErrorCode(tj) == TJERR_WARNING && strstr(text, "Premature end of JPEG file") == NULL) return CJPEG_OK;
    return fail(message, CJPEG_BAD_IMAGE, "%s", text);
}

// libjpeg hands out Adobe-style inverted CMYK (0 = full ink). PIL un-inverts it ("CMYK;I") and then
// computes R = (255 - K) - round((255 - K) * C / 255); the same arithmetic here gives identical bytes.
static uint8_t ink_to_rgb(uint8_t inverted_ink, uint8_t inverted_black) {
    int ink = 255 - inverted_ink, light = inverted_black;
    int t = ink * light + 128;
    return (uint8_t)(light - (((t >> 8) + t) >> 8));
}

static int decompress_cmyk(tjhandle tj, const uint8_t *data, size_t size, uint8_t *dst, const cjpeg_header *h,
                           char *message) {
    size_t pixels = (size_t)h->width * h->height;
    uint8_t *cmyk = malloc(pixels * 4);
    if (cmyk == NULL) return fail(message, CJPEG_NO_MEMORY, "out of memory for %zu CMYK pixels", pixels);
    int status = decompress(tj, data, size, cmyk, h, TJPF_CMYK, message);
    if (status == CJPEG_OK) {
        for (size_t i = 0; i < pixels; i++) {
            const uint8_t *p = cmyk + 4 * i;
            dst[3 * i] = ink_to_rgb(p[0], p[3]);
            dst[3 * i + 1] = ink_to_rgb(p[1], p[3]);
            dst[3 * i + 2] = ink_to_rgb(p[2], p[3]);
        }
    }
    free(cmyk);
    return status;
}

int cjpeg_read_header(const uint8_t *data, size_t size, cjpeg_header *header, char *message) {
    memset(header, 0, sizeof *header);
    tjhandle tj = tjInitDecompress();
    if (tj == NULL) return fail(message, CJPEG_NO_MEMORY, "%s", tjGetErrorStr2(NULL));
    int status = read_header(tj, data, size, header, message);
    tjDestroy(tj);
    return status;
}

int cjpeg_decode_rgb(const uint8_t *data, size_t size, uint64_t max_pixels, uint8_t *dst, size_t dst_size,
                     cjpeg_header *header, char *message) {
    memset(header, 0, sizeof *header);
    tjhandle tj = tjInitDecompress();
    if (tj == NULL) return fail(message, CJPEG_NO_MEMORY, "%s", tjGetErrorStr2(NULL));
    int status = read_header(tj, data, size, header, message);
    uint64_t pixels = (uint64_t)header->width * header->height;  // 0 when the header failed
    if (status != CJPEG_OK) {
        // the message is already set
    } else if (pixels > max_pixels) {
        status = fail(message, CJPEG_TOO_LARGE, "%ux%u is %llu pixels, over the limit of %llu", header->width,
                      header->height, (unsigned long long)pixels, (unsigned long long)max_pixels);
    } else if (dst == NULL || pixels * 3 != dst_size) {
        status = fail(message, CJPEG_BAD_ARGUMENT, "output buffer has %zu bytes, need %llu", dst_size,
                      (unsigned long long)(pixels * 3));
    } else if (header->colorspace == CJPEG_COLORSPACE_CMYK || header->colorspace == CJPEG_COLORSPACE_YCCK) {
        status = decompress_cmyk(tj, data, size, dst, header, message);
    } else {
        status = decompress(tj, data, size, dst, header, TJPF_RGB, message);
    }
    tjDestroy(tj);
    return status;
}

int cjpeg_encode_rgb(const uint8_t *rgb, uint32_t width, uint32_t height, int quality, uint8_t **jpeg,
                     size_t *jpeg_size, char *message) {
    *jpeg = NULL;
    *jpeg_size = 0;
    if (width == 0 || height == 0 || width > 65500 || height > 65500 || quality < 1 || quality > 100)
        return fail(message, CJPEG_BAD_ARGUMENT, "cannot encode a %ux%u JPEG at quality %d", width, height, quality);
    tjhandle tj = tjInitCompress();
    if (tj == NULL) return fail(message, CJPEG_NO_MEMORY, "%s", tjGetErrorStr2(NULL));
    unsigned char *out = NULL;
    unsigned long size = 0;
    int status = CJPEG_OK;
    if (tjCompress2(tj, rgb, (int)width, (int)width * 3, (int)height, TJPF_RGB, &out, &size, TJSAMP_420, quality, 0) != 0) {
        status = fail(message, CJPEG_NO_MEMORY, "%s", tjGetErrorStr2(tj));
        tjFree(out);
    } else {
        *jpeg = out;
        *jpeg_size = (size_t)size;
    }
    tjDestroy(tj);
    return status;
}

void cjpeg_free(uint8_t *jpeg) { tjFree(jpeg); }
