extension CurlSession {
    /// Limits and identity shared by every request a session (or an `HTTPClient`) makes.
    public struct Configuration: Sendable {
        /// Limit for establishing the TCP (and TLS) connection.
        public var connectTimeout: Duration
        /// Limit for a whole `perform` exchange when the request sets none. Downloads have no total
        /// limit (a model file may take many minutes); `stallTimeout` catches dead transfers.
        public var requestTimeout: Duration
        /// A transfer that moves less than one byte per second for this long fails as `timedOut`.
        public var stallTimeout: Duration
        /// Redirects followed for requests that follow redirects.
        public var maxRedirects: Int
        /// Sent as `Authorization: Bearer …` unless the request has its own Authorization header.
        /// libcurl drops it when a redirect leads to another host (signed CDN URLs need none).
        public var bearerToken: String?
        public var userAgent: String
        /// Idle time before TCP keep-alive probes, so dead idle connections are noticed.
        public var tcpKeepAliveIdle: Duration

        public init(
            connectTimeout: Duration = .seconds(10),
            requestTimeout: Duration = .seconds(60),
            stallTimeout: Duration = .seconds(30),
            maxRedirects: Int = 5,
            bearerToken: String? = nil,
            userAgent: String = "labelmill",
            tcpKeepAliveIdle: Duration = .seconds(30)
        ) {
            self.connectTimeout = connectTimeout
            self.requestTimeout = requestTimeout
            self.stallTimeout = stallTimeout
            self.maxRedirects = maxRedirects
            self.bearerToken = bearerToken
            self.userAgent = userAgent
            self.tcpKeepAliveIdle = tcpKeepAliveIdle
        }
    }
}

extension Duration {
    /// Whole milliseconds, rounded up so that a tiny positive limit never becomes "no limit" (0).
    var curlMilliseconds: Int {
        let (seconds, attoseconds) = components
        let millis = seconds * 1_000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int(max(millis, 1))
    }
}
