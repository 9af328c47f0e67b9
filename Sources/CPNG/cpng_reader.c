// PNG decoding from memory: header first, then the pixels straight into the caller's buffer.
#include "CPNG.h"
#include "cpng_private.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t offset;
    png_structp png;
    png_infop info;
    png_bytep *rows;  // owned here (not a local of a setjmp frame) so cleanup sees it after a longjmp
} reader;

static void on_read(png_structp png, png_bytep out, size_t length) {
    reader *r = png_get_io_ptr(png);
    if (length > r->size - r->offset) png_error(png, "PNG data is truncated");
    memcpy(out, r->data + r->offset, length);
    r->offset += length;
}

static int open_reader(reader *r, const uint8_t *data, size_t size, char *message) {
    memset(r, 0, sizeof *r);
    r->data = data;
    r->size = size;
    if (size < 8 || png_sig_cmp(data, 0, 8) != 0)
        return cpng_fail(message, CPNG_BAD_IMAGE, "not a PNG file (bad signature)");
    r->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, message, cpng_on_error, cpng_on_warning);
    if (r->png != NULL) r->info = png_create_info_struct(r->png);
    if (r->info == NULL) return cpng_fail(message, CPNG_NO_MEMORY, "cannot create a libpng reader");
    png_set_read_fn(r->png, r, on_read);
    return CPNG_OK;
}

static void close_reader(reader *r) {
    if (r->png != NULL) png_destroy_read_struct(&r->png, r->info != NULL ? &r->info : NULL, NULL);
    free(r->rows);
}

// Reads up to and including IHDR (png_read_info stops at the first IDAT).
static int read_header(reader *r, cpng_header *h) {
    if (setjmp(png_jmpbuf(r->png))) return CPNG_BAD_IMAGE;
    png_read_info(r->png, r->info);
    h->width = png_get_image_width(r->png, r->info);
    h->height = png_get_image_height(r->png, r->info);
    h->bit_depth = png_get_bit_depth(r->png, r->info);
    h->color_type = png_get_color_type(r->png, r->info);
    h->interlaced = png_get_interlace_type(r->png, r->info) != PNG_INTERLACE_NONE;
    return CPNG_OK;
}

// Every layout becomes 8-bit RGB the way PIL's convert('RGB') does it: palette looked up, gray
// replicated, alpha and tRNS dropped (not composited), 16-bit reduced to the high byte.
static void request_rgb(png_structp png, const cpng_header *h) {
    if (h->color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (h->color_type == PNG_COLOR_TYPE_GRAY && h->bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (h->bit_depth == 16) png_set_strip_16(png);
    png_set_strip_alpha(png);
    if ((h->color_type & PNG_COLOR_MASK_COLOR) == 0) png_set_gray_to_rgb(png);
}

static int read_pixels(reader *r, const cpng_header *h, cpng_output output, uint8_t *dst) {
    if (setjmp(png_jmpbuf(r->png))) return CPNG_BAD_IMAGE;
    if (output == CPNG_OUTPUT_RGB) {
        request_rgb(r->png, h);
    } else if (h->bit_depth < 8) {
        png_set_packing(r->png);  // one index per byte, values not rescaled
    }
    png_set_interlace_handling(r->png);
    png_read_update_info(r->png, r->info);
    size_t row_bytes = (size_t)h->width * cpng_output_channels(output);
    if (png_get_rowbytes(r->png, r->info) != row_bytes) png_error(r->png, "unexpected row layout after transforms");
    r->rows = malloc((size_t)h->height * sizeof(png_bytep));
    if (r->rows == NULL) return CPNG_NO_MEMORY;
    for (uint32_t y = 0; y < h->height; y++) r->rows[y] = dst + (size_t)y * row_bytes;
    png_read_image(r->png, r->rows);  // trailing chunks after the pixels are not read (lenient, like PIL)
    return CPNG_OK;
}

size_t cpng_output_channels(cpng_output output) { return output == CPNG_OUTPUT_RGB ? 3 : 1; }

int cpng_read_header(const uint8_t *data, size_t size, cpng_header *header, char *message) {
    memset(header, 0, sizeof *header);
    reader r;
    int status = open_reader(&r, data, size, message);
    if (status == CPNG_OK) status = read_header(&r, header);
    close_reader(&r);
    return status;
}

// Checks the header against the limit and the requested output before any pixel memory is used.
static int check_request(const cpng_header *h, cpng_output output, uint64_t max_pixels, size_t dst_size,
                         char *message) {
    uint64_t pixels = (uint64_t)h->width * h->height;
    if (pixels > max_pixels)
        return cpng_fail(message, CPNG_TOO_LARGE, "%ux%u is %llu pixels, over the limit of %llu", h->width,
                         h->height, (unsigned long long)pixels, (unsigned long long)max_pixels);
    if (output == CPNG_OUTPUT_INDICES && (h->bit_depth > 8 || (h->color_type != PNG_COLOR_TYPE_PALETTE &&
                                                                h->color_type != PNG_COLOR_TYPE_GRAY)))
        return cpng_fail(message, CPNG_BAD_IMAGE,
                         "a label PNG must be palette or grayscale of at most 8 bits (colour type %d, bit depth %d)",
                         h->color_type, h->bit_depth);
    if (pixels * cpng_output_channels(output) != dst_size)
        return cpng_fail(message, CPNG_BAD_ARGUMENT, "output buffer has %zu bytes, need %llu", dst_size,
                         (unsigned long long)(pixels * cpng_output_channels(output)));
    return CPNG_OK;
}

int cpng_decode(const uint8_t *data, size_t size, cpng_output output, uint64_t max_pixels,
                uint8_t *dst, size_t dst_size, cpng_header *header, char *message) {
    memset(header, 0, sizeof *header);
    reader r;
    int status = open_reader(&r, data, size, message);
    if (status == CPNG_OK) status = read_header(&r, header);
    if (status == CPNG_OK) status = check_request(header, output, max_pixels, dst_size, message);
    if (status == CPNG_OK) {
        status = read_pixels(&r, header, output, dst);
        if (status == CPNG_NO_MEMORY) cpng_fail(message, status, "out of memory for %u row pointers", header->height);
    }
    close_reader(&r);
    return status;
}
