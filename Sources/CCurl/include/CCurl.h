// CCurl: the few C helpers Swift needs to drive libcurl.
//
// curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call, so each argument
// type gets a typed wrapper. Callbacks are plain C function pointers plus one opaque context
// pointer; the Swift side passes an unretained object and bridges back to it.
#ifndef CCURL_H
#define CCURL_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

/// Runs curl_global_init(CURL_GLOBAL_DEFAULT) exactly once per process (pthread_once) and returns
/// its result on every call. Call before the first curl_easy_init.
CURLcode ccurl_global_init(void);

// MARK: - Typed setopt / getinfo

static inline CURLcode ccurl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ccurl_setopt_off_t(CURL *handle, CURLoption option, int64_t value) {
    return curl_easy_setopt(handle, option, (curl_off_t)value);
}

/// libcurl copies the string (except for CURLOPT_POSTFIELDS, which the shim never uses).
static inline CURLcode ccurl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

/// For CURLOPT_ERRORBUFFER and other options that take a pointer the caller keeps alive.
static inline CURLcode ccurl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ccurl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *list) {
    return curl_easy_setopt(handle, option, list);
}

static inline CURLcode ccurl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode ccurl_getinfo_off_t(CURL *handle, CURLINFO info, int64_t *value) {
    curl_off_t v = 0;
    CURLcode rc = curl_easy_getinfo(handle, info, &v);
    *value = (int64_t)v;
    return rc;
}

// MARK: - Callback bridge

/// Body, header and upload callbacks: `size * count` bytes at `data`; `context` is what the
/// matching install call was given.
typedef size_t (*ccurl_data_callback)(char *data, size_t size, size_t count, void *context);
/// Rewind an upload (CURL_SEEKFUNC_OK / _FAIL / _CANTSEEK).
typedef int (*ccurl_seek_callback)(void *context, int64_t offset, int origin);
/// Progress; a non-zero return aborts the transfer with CURLE_ABORTED_BY_CALLBACK.
typedef int (*ccurl_progress_callback)(void *context, int64_t dltotal, int64_t dlnow,
                                       int64_t ultotal, int64_t ulnow);

/// Installs the response callbacks (write, header, progress) with one shared context.
CURLcode ccurl_install_response_callbacks(CURL *handle, void *context, ccurl_data_callback write,
                                          ccurl_data_callback header, ccurl_progress_callback progress);

/// Installs the upload callbacks (read, seek) with one shared context.
CURLcode ccurl_install_upload_callbacks(CURL *handle, void *context, ccurl_data_callback read,
                                        ccurl_seek_callback seek);

/// Values Swift cannot import because libcurl defines them as casting macros.
static inline size_t ccurl_read_abort(void) { return CURL_READFUNC_ABORT; }

#endif
