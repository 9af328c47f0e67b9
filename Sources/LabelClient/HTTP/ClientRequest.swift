/// One HTTP exchange to perform: a plain value, so it can be retried and sent to any thread.
public struct ClientRequest: Sendable {
    /// The request method; any token is allowed, the common ones are predefined.
    public struct Method: RawRepresentable, Hashable, Sendable, ExpressibleByStringLiteral,
        CustomStringConvertible
    {
        public var rawValue: String

        public init(rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { self.rawValue = value }
        public var description: String { rawValue }

        public static let get: Method = "GET"
        public static let head: Method = "HEAD"
        public static let post: Method = "POST"
        public static let put: Method = "PUT"
        public static let patch: Method = "PATCH"
        public static let delete: Method = "DELETE"
    }

    /// What to upload. A file is streamed from disk, not loaded, so large uploads stay cheap;
    /// it is reopened on every attempt, so retries send the whole file again.
    public enum Body: Sendable, Equatable {
        case empty
        case bytes([UInt8])
        case file(path: String)
    }

    public var method: Method
    public var url: String
    public var headers: HTTPHeaders
    public var body: Body
    /// Limit for the whole exchange; nil uses the session's `requestTimeout`.
    public var timeout: Duration?
    /// Follow up to `CurlSession.Configuration.maxRedirects` redirects. Defaults to true for
    /// GET and HEAD only: replaying a POST or PUT body to another location is rarely wanted.
    public var followRedirects: Bool
    /// Sign with AWS Signature Version 4 (libcurl computes it); S3 objects and listings.
    public var awsSignature: AWSSignature?

    public init(
        method: Method = .get,
        url: String,
        headers: HTTPHeaders = [:],
        body: Body = .empty,
        timeout: Duration? = nil,
        followRedirects: Bool? = nil
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.followRedirects = followRedirects ?? (method == .get || method == .head)
    }

    /// The credentials and scope libcurl signs a request with (`CURLOPT_AWS_SIGV4`).
    public struct AWSSignature: Sendable, Equatable {
        public var accessKeyID: String
        public var secretAccessKey: String
        public var region: String
        public var service: String

        public init(accessKeyID: String, secretAccessKey: String, region: String, service: String = "s3") {
            self.accessKeyID = accessKeyID
            self.secretAccessKey = secretAccessKey
            self.region = region
            self.service = service
        }
    }

    /// Convenience for a JSON or other byte body.
    public static func post(_ url: String, body: [UInt8], contentType: String) -> ClientRequest {
        ClientRequest(method: .post, url: url, headers: ["Content-Type": contentType], body: .bytes(body))
    }
}
