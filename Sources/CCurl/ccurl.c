#include "CCurl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>

static pthread_once_t ccurl_once = PTHREAD_ONCE_INIT;
static CURLcode ccurl_init_result = CURLE_FAILED_INIT;

static void ccurl_do_global_init(void) {
    // OpenSSL frees its global state in an atexit handler, on whichever thread calls exit(), while
    // transfer threads may still be tearing down their handles: the CLI crashed in libcrypto about
    // once in a thousand exits. Asking OpenSSL not to register that handler (before anything starts
    // it) leaves its state to the process's end. Looked up at run time: no OpenSSL headers needed, and
    // a libcurl built on another TLS library simply has no such symbol.
    typedef int (*init_crypto_fn)(uint64_t options, const void *settings);
    init_crypto_fn init_crypto = (init_crypto_fn)dlsym(RTLD_DEFAULT, "OPENSSL_init_crypto");
    if (init_crypto != NULL) init_crypto(0x00080000ULL /* OPENSSL_INIT_NO_ATEXIT */, NULL);
    ccurl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

CURLcode ccurl_global_init(void) {
    pthread_once(&ccurl_once, ccurl_do_global_init);
    return ccurl_init_result;
}

CURLcode ccurl_install_response_callbacks(CURL *handle, void *context, ccurl_data_callback write,
                                          ccurl_data_callback header, ccurl_progress_callback progress) {
    CURLcode rc;
    if ((rc = curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, write)) != CURLE_OK) return rc;
    if ((rc = curl_easy_setopt(handle, CURLOPT_WRITEDATA, context)) != CURLE_OK) return rc;
    if ((rc = curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, header)) != CURLE_OK) return rc;
    if ((rc = curl_easy_setopt(handle, CURLOPT_HEADERDATA, context)) != CURLE_OK) return rc;
    if (progress == NULL) return curl_easy_setopt(handle, CURLOPT_NOPROGRESS, 1L);
    // curl_off_t is int64_t on every platform libcurl 7.88 supports with a 64-bit off_t,
    // so the function pointer types are call-compatible.
    _Static_assert(sizeof(curl_off_t) == sizeof(int64_t), "curl_off_t must be 64-bit");
    if ((rc = curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, (curl_xferinfo_callback)progress)) != CURLE_OK)
        return rc;
    if ((rc = curl_easy_setopt(handle, CURLOPT_XFERINFODATA, context)) != CURLE_OK) return rc;
    return curl_easy_setopt(handle, CURLOPT_NOPROGRESS, 0L);
}

CURLcode ccurl_install_upload_callbacks(CURL *handle, void *context, ccurl_data_callback read,
                                        ccurl_seek_callback seek) {
    CURLcode rc;
    if ((rc = curl_easy_setopt(handle, CURLOPT_READFUNCTION, read)) != CURLE_OK) return rc;
    if ((rc = curl_easy_setopt(handle, CURLOPT_READDATA, context)) != CURLE_OK) return rc;
    if ((rc = curl_easy_setopt(handle, CURLOPT_SEEKFUNCTION, (curl_seek_callback)seek)) != CURLE_OK) return rc;
    return curl_easy_setopt(handle, CURLOPT_SEEKDATA, context);
}
