// Shared between the CPNG reader and writer; not part of the public header.
#ifndef CPNG_PRIVATE_H
#define CPNG_PRIVATE_H

#include <png.h>

// The error pointer of every png_struct made here is the caller's message buffer
// (CPNG_MESSAGE_CAPACITY bytes): the handler copies libpng's text there and longjmps
// back to the setjmp in the same C file. It never returns, so libpng never prints.
void cpng_on_error(png_structp png, png_const_charp text);

// Warnings (bad ancillary chunks, extra IDAT data, ...) are not failures; they are dropped.
void cpng_on_warning(png_structp png, png_const_charp text);

// Formats a message into the caller's buffer and returns `status`, for early exits.
int cpng_fail(char *message, int status, const char *format, ...);

#endif
