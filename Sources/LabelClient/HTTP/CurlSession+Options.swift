import CCurl

extension CurlSession {
    /// Sets every option for one request on the freshly reset handle.
    func configure(
        _ request: ClientRequest, totalTimeout: Duration?, upload: UploadSource?,
        headerList: inout UnsafeMutablePointer<curl_slist>?
    ) throws(CurlError) {
        let config = configuration
        try setPointer(CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(errorBuffer))
        try set(CURLOPT_URL, request.url)
        // The path goes out as given: an S3 key or a manifest's URL may hold "." or ".." segments, which name other
        // objects once removed (`p/x/../y.png` is not `p/y.png` to S3), and SigV4 signs the path as sent.
        try set(CURLOPT_PATH_AS_IS, 1)
        try set(CURLOPT_PROTOCOLS_STR, "http,https")
        try set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        try set(CURLOPT_NOSIGNAL, 1)  // timeouts must not use SIGALRM in a threaded process
        try set(CURLOPT_CONNECTTIMEOUT_MS, config.connectTimeout.curlMilliseconds)
        try set(CURLOPT_TIMEOUT_MS, totalTimeout?.curlMilliseconds ?? 0)
        try set(CURLOPT_LOW_SPEED_LIMIT, 1)
        try set(CURLOPT_LOW_SPEED_TIME, max(1, Int(config.stallTimeout.components.seconds)))
        try set(CURLOPT_TCP_KEEPALIVE, 1)
        try set(CURLOPT_TCP_KEEPIDLE, max(1, Int(config.tcpKeepAliveIdle.components.seconds)))
        try set(CURLOPT_TCP_KEEPINTVL, 15)
        try set(CURLOPT_FOLLOWLOCATION, request.followRedirects ? 1 : 0)
        try set(CURLOPT_MAXREDIRS, config.maxRedirects)
        try set(CURLOPT_USERAGENT, config.userAgent)

        var headers = request.headers
        switch request.method {
        case .head:
            try set(CURLOPT_NOBODY, 1)
        case .get where upload == nil:
            try set(CURLOPT_HTTPGET, 1)
        default:
            if let upload {
                // POST mode with a read callback sends any method's body with a Content-Length.
                try set(CURLOPT_POST, 1)
                try setOffset(CURLOPT_POSTFIELDSIZE_LARGE, upload.size)
                if request.method != .post { try set(CURLOPT_CUSTOMREQUEST, request.method.rawValue) }
                if !headers.contains("Content-Type") { headers.add("Content-Type", "") }  // no form default
            } else {
                try set(CURLOPT_CUSTOMREQUEST, request.method.rawValue)
            }
        }
        if let signature = request.awsSignature {
            // libcurl adds Authorization and X-Amz-Date and signs every header it sends.
            try set(CURLOPT_AWS_SIGV4, "aws:amz:\(signature.region):\(signature.service)")
            try set(CURLOPT_USERNAME, signature.accessKeyID)
            try set(CURLOPT_PASSWORD, signature.secretAccessKey)
        } else if let token = config.bearerToken, !headers.contains("Authorization") {
            headers.add("Authorization", "Bearer \(token)")
        }
        // No 100-continue round trip before bodies, except signed ones: libcurl 7.88's SigV4 signs the removal line
        // ("Expect:") as an empty header it never sends, and S3 refuses the signature (an S3 PUT waits for the 100).
        if upload != nil && request.awsSignature == nil { headers["Expect"] = "" }
        for field in headers {
            guard Self.isValid(field) else {
                throw CurlError(.other, "\(request.method) \(request.url): invalid header field \(field.name)")
            }
            // "Name:" tells libcurl to drop a header it would add itself.
            let removesDefault = field.value.isEmpty && ["content-type", "expect"].contains(field.name.lowercased())
            let line = field.value.isEmpty ? field.name + (removesDefault ? ":" : ";") : "\(field.name): \(field.value)"
            guard let list = curl_slist_append(headerList, line) else { preconditionFailure("curl_slist_append") }
            headerList = list
        }
        try setList(CURLOPT_HTTPHEADER, headerList)
    }

    /// Rejects CR, LF and NUL anywhere (header injection) and separators in names. Checked on
    /// bytes: Swift treats "\r\n" as one Character, equal to neither "\r" nor "\n".
    private static func isValid(_ field: HTTPHeaders.Field) -> Bool {
        let control: Set<UInt8> = [0, 10, 13]
        let nameForbidden = control.union([UInt8(ascii: ":"), UInt8(ascii: " "), UInt8(ascii: "\t")])
        return !field.name.isEmpty && !field.name.utf8.contains(where: nameForbidden.contains)
            && !field.value.utf8.contains(where: control.contains)
    }

    private func check(_ rc: CURLcode, _ option: CURLoption) throws(CurlError) {
        guard rc == CURLE_OK else { throw CurlError(curl: rc, detail: "", context: "curl option \(option.rawValue)") }
    }

    private func set(_ option: CURLoption, _ value: Int) throws(CurlError) {
        try check(ccurl_setopt_long(handle, option, value), option)
    }

    private func set(_ option: CURLoption, _ value: String) throws(CurlError) {
        try check(ccurl_setopt_string(handle, option, value), option)
    }

    private func setOffset(_ option: CURLoption, _ value: Int64) throws(CurlError) {
        try check(ccurl_setopt_off_t(handle, option, value), option)
    }

    private func setPointer(_ option: CURLoption, _ value: UnsafeMutableRawPointer) throws(CurlError) {
        try check(ccurl_setopt_pointer(handle, option, value), option)
    }

    private func setList(_ option: CURLoption, _ list: UnsafeMutablePointer<curl_slist>?) throws(CurlError) {
        try check(ccurl_setopt_slist(handle, option, list), option)
    }
}
