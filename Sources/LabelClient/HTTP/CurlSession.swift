import CCurl

/// Owns one libcurl easy handle, reused for every request so that keep-alive connections, DNS
/// and TLS sessions carry over. Not Sendable: one thread uses it at a time (`HTTPClient` gives
/// each of its transfer threads one session); every call blocks that thread until done.
public final class CurlSession {
    public let configuration: Configuration
    /// CURL * (libcurl's `CURL` is `void`).
    let handle: UnsafeMutableRawPointer
    /// libcurl writes its detailed message here (CURLOPT_ERRORBUFFER).
    let errorBuffer: UnsafeMutablePointer<CChar>

    public init(configuration: Configuration = Configuration()) {
        precondition(ccurl_global_init() == CURLE_OK, "curl_global_init failed")
        guard let handle = curl_easy_init() else { preconditionFailure("curl_easy_init failed") }
        self.handle = handle
        self.configuration = configuration
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
    }

    deinit {
        curl_easy_cleanup(handle)
        errorBuffer.deallocate()
    }

    /// Performs one exchange and returns the response whatever its status; see `requireOK()`.
    public func perform(_ request: ClientRequest) throws(CurlError) -> ClientResponse {
        try perform(request, cancellation: nil)
    }

    func perform(_ request: ClientRequest, cancellation: CancellationFlag?) throws(CurlError) -> ClientResponse {
        let sink = MemorySink()
        let timeout = request.timeout ?? configuration.requestTimeout
        let head = try transfer(request, totalTimeout: timeout, sink: sink, cancellation: cancellation)
        return ClientResponse(status: head.status, headers: head.headers, body: sink.body)
    }

    /// Runs one transfer, streaming the body into `sink`. `totalTimeout` nil means no total limit.
    func transfer(
        _ request: ClientRequest, totalTimeout: Duration?, sink: any ResponseSink, cancellation: CancellationFlag?
    ) throws(CurlError) -> ResponseHead {
        let context = "\(request.method) \(request.url)"
        if cancellation?.isCancelled == true { throw .cancelled(context) }
        curl_easy_reset(handle)  // keeps the connection cache
        errorBuffer[0] = 0
        let sendsBody = request.body != .empty || [.post, .put, .patch].contains(request.method)
        let upload = sendsBody ? try UploadSource(request.body) : nil
        let transfer = TransferContext(sink: sink, upload: upload, cancellation: cancellation)
        defer { withExtendedLifetime(transfer) {} }
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }

        try configure(request, totalTimeout: totalTimeout, upload: upload, headerList: &headerList)
        try installCallbacks(Unmanaged.passUnretained(transfer).toOpaque(), transfer: transfer)
        let rc = curl_easy_perform(handle)
        if let failure = transfer.failure { throw failure }
        if rc == CURLE_ABORTED_BY_CALLBACK && transfer.isCancelled { throw .cancelled(context) }
        guard rc == CURLE_OK else {
            throw CurlError(curl: rc, detail: String(cString: errorBuffer), context: context)
        }
        var status = 0
        _ = ccurl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        try transfer.beginIfNeeded(status: status)
        return ResponseHead(status: status, headers: transfer.headers)
    }
}

/// A session (and its CURL handle) belongs to one thread at a time; share an `HTTPClient` instead.
@available(*, unavailable)
extension CurlSession: Sendable {}
