// CPNG: a small C shim over the classic libpng API.
//
// libpng reports errors by longjmp, which must never cross Swift frames, so every entry point here
// catches them with setjmp and returns a status code plus a NUL-terminated message instead.
// Memory: decoders write into a caller-provided buffer (sized from cpng_read_header); the encoder
// returns a malloc'd buffer that the caller releases with cpng_free.
#ifndef CPNG_H
#define CPNG_H

#include <stddef.h>
#include <stdint.h>

/// Size of the message buffers the entry points fill.
#define CPNG_MESSAGE_CAPACITY 256

typedef enum {
    CPNG_OK = 0,
    CPNG_BAD_IMAGE = 1,     // not a PNG, truncated, bad CRC, unsupported layout
    CPNG_TOO_LARGE = 2,     // width * height exceeds max_pixels
    CPNG_NO_MEMORY = 3,
    CPNG_BAD_ARGUMENT = 4,  // caller error: buffer of the wrong size, zero dimensions
} cpng_status;

typedef enum {
    CPNG_OUTPUT_RGB = 0,      // 8-bit RGB, 3 bytes per pixel, alpha dropped
    CPNG_OUTPUT_INDICES = 1,  // raw 8-bit palette indices or gray values, 1 byte per pixel
} cpng_output;

typedef struct {
    uint32_t width;
    uint32_t height;
    int bit_depth;   // 1, 2, 4, 8 or 16
    int color_type;  // PNG colour type: 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA
    int interlaced;  // 1 for Adam7
} cpng_header;

/// Reads the signature and IHDR only. No pixel memory is allocated.
int cpng_read_header(const uint8_t *data, size_t size, cpng_header *header, char *message);

/// Bytes per pixel for an output kind (3 for RGB, 1 for indices).
size_t cpng_output_channels(cpng_output output);

/// Decodes the whole image into `dst`, which must hold exactly width * height * channels bytes.
/// The header is read (and `max_pixels` enforced) before any pixel memory is touched.
int cpng_decode(const uint8_t *data, size_t size, cpng_output output, uint64_t max_pixels,
                uint8_t *dst, size_t dst_size, cpng_header *header, char *message);

/// Encodes 8-bit indices as a palette PNG with a full 256-entry PLTE (`palette_rgb` holds 768 bytes), or as an
/// 8-bit grayscale PNG when `palette_rgb` is NULL, using a fast zlib level. On success `*out` is a malloc'd buffer of `*out_size` bytes.
int cpng_encode_palette(const uint8_t *indices, uint32_t width, uint32_t height,
                        const uint8_t *palette_rgb, uint8_t **out, size_t *out_size, char *message);

void cpng_free(void *pointer);

#endif
