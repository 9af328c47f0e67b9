#include "CPNG.h"
#include "cpng_private.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void cpng_on_error(png_structp png, png_const_charp text) {
    char *message = png_get_error_ptr(png);
    if (message != NULL) snprintf(message, CPNG_MESSAGE_CAPACITY, "%s", text);
    png_longjmp(png, 1);
}

void cpng_on_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;
}

int cpng_fail(char *message, int status, const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(message, CPNG_MESSAGE_CAPACITY, format, arguments);
    va_end(arguments);
    return status;
}

void cpng_free(void *pointer) { free(pointer); }
