import CCurl

extension CurlSession {
    /// Points libcurl's callbacks at `transfer` (passed unretained as `context`; the caller keeps
    /// it alive for the whole perform).
    func installCallbacks(_ context: UnsafeMutableRawPointer, transfer: TransferContext) throws(CurlError) {
        let progress: ccurl_progress_callback? =
            transfer.cancellation == nil
            ? nil
            : { context, _, _, _, _ in
                TransferContext.from(context).isCancelled ? 1 : 0
            }
        var rc = ccurl_install_response_callbacks(
            handle, context,
            { data, size, count, context in
                let bytes = UnsafeRawBufferPointer(start: data, count: size * count)
                return TransferContext.from(context).body(bytes) ? size * count : 0
            },
            { data, size, count, context in
                TransferContext.from(context).header(UnsafeRawBufferPointer(start: data, count: size * count))
                return size * count
            },
            progress)
        if rc == CURLE_OK && transfer.upload != nil {
            rc = ccurl_install_upload_callbacks(
                handle, context,
                { data, size, count, context in
                    let buffer = UnsafeMutableRawBufferPointer(start: data, count: size * count)
                    return TransferContext.from(context).read(into: buffer) ?? ccurl_read_abort()
                },
                { context, offset, origin in
                    // libcurl only rewinds with SEEK_SET (0).
                    origin == 0 && TransferContext.from(context).seek(to: offset)
                        ? CURL_SEEKFUNC_OK : CURL_SEEKFUNC_CANTSEEK
                })
        }
        guard rc == CURLE_OK else { throw CurlError(curl: rc, detail: "", context: "installing callbacks") }
    }
}

extension TransferContext {
    static func from(_ context: UnsafeMutableRawPointer?) -> TransferContext {
        Unmanaged<TransferContext>.fromOpaque(context!).takeUnretainedValue()
    }
}
