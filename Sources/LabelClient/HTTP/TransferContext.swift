/// Per-transfer state the libcurl callbacks reach through their opaque context pointer.
/// Lives on the transfer's thread for the duration of one `curl_easy_perform`.
final class TransferContext {
    let sink: any ResponseSink
    let upload: UploadSource?
    let cancellation: CancellationFlag?
    private var parser = HeaderParser()
    private var began = false
    /// The first error a callback hit; reported instead of libcurl's generic abort code.
    private(set) var failure: CurlError?

    init(sink: any ResponseSink, upload: UploadSource?, cancellation: CancellationFlag?) {
        self.sink = sink
        self.upload = upload
        self.cancellation = cancellation
    }

    func header(_ line: UnsafeRawBufferPointer) {
        parser.consume(line)
    }

    /// Returns false to make libcurl abort.
    func body(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard failure == nil else { return false }
        do {
            try beginIfNeeded(status: parser.status)
            try sink.write(bytes)
            return true
        } catch {
            failure = error
            return false
        }
    }

    /// Calls the sink's `begin` once; after a transfer without body `status` comes from libcurl.
    func beginIfNeeded(status: Int) throws(CurlError) {
        guard !began else { return }
        began = true
        var head = parser.head
        head.status = status
        try sink.begin(head)
    }

    var headers: HTTPHeaders { parser.headers }

    /// Returns nil to make libcurl abort.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        guard let upload else { return 0 }
        do {
            return try upload.read(into: buffer)
        } catch {
            failure = error
            return nil
        }
    }

    func seek(to offset: Int64) -> Bool {
        upload?.seek(to: offset) ?? (offset == 0)
    }

    var isCancelled: Bool { cancellation?.isCancelled ?? false }
}
