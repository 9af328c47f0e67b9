// CJPEG: a small C shim over libjpeg-turbo's TurboJPEG API.
//
// Every entry point returns a status code and fills a NUL-terminated message; TurboJPEG handles
// never leave this shim. Decoding writes 8-bit RGB into a caller-provided buffer sized from
// cjpeg_read_header, after the pixel limit has been checked.
#ifndef CJPEG_H
#define CJPEG_H

#include <stddef.h>
#include <stdint.h>

/// Size of the message buffers the entry points fill.
#define CJPEG_MESSAGE_CAPACITY 256

typedef enum {
    CJPEG_OK = 0,
    CJPEG_BAD_IMAGE = 1,     // not a JPEG, truncated, corrupt, unsupported
    CJPEG_TOO_LARGE = 2,     // width * height exceeds max_pixels
    CJPEG_NO_MEMORY = 3,
    CJPEG_BAD_ARGUMENT = 4,  // caller error: buffer of the wrong size
} cjpeg_status;

typedef enum {
    CJPEG_COLORSPACE_RGB = 0,
    CJPEG_COLORSPACE_YCBCR = 1,
    CJPEG_COLORSPACE_GRAY = 2,
    CJPEG_COLORSPACE_CMYK = 3,
    CJPEG_COLORSPACE_YCCK = 4,
} cjpeg_colorspace;

typedef struct {
    uint32_t width;
    uint32_t height;
    int colorspace;  // a cjpeg_colorspace
} cjpeg_header;

/// Parses the markers up to the frame header. No pixel memory is allocated.
int cjpeg_read_header(const uint8_t *data, size_t size, cjpeg_header *header, char *message);

/// Decodes to 8-bit RGB (accurate integer DCT, fancy upsampling) into `dst`, which must hold exactly
/// width * height * 3 bytes. CMYK and YCCK images are converted the way PIL's convert('RGB') does it.
/// A truncated stream is an error; other libjpeg warnings (corrupt data the decoder recovered from)
/// are not.
int cjpeg_decode_rgb(const uint8_t *data, size_t size, uint64_t max_pixels, uint8_t *dst, size_t dst_size,
                     cjpeg_header *header, char *message);

/// Encodes 8-bit RGB (`width * height * 3` bytes) as a baseline JPEG of `quality` (1-100, 4:2:0).
/// On success `*jpeg` holds `*jpeg_size` bytes that the caller frees with cjpeg_free.
int cjpeg_encode_rgb(const uint8_t *rgb, uint32_t width, uint32_t height, int quality, uint8_t **jpeg,
                     size_t *jpeg_size, char *message);

/// Frees a buffer cjpeg_encode_rgb returned.
void cjpeg_free(uint8_t *jpeg);

#endif
