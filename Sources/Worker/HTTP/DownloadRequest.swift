/// A file to fetch into `destination`, through `destination + ".part"`, and how to check it.
public struct DownloadRequest: Sendable {
    public var url: String
    /// Final path; only a complete, verified file is ever renamed onto it.
    public var destination: String
    /// Checked after the transfer; a different size fails with `sizeMismatch`.
    public var expectedSize: Int64?
    /// Lower-case or upper-case hex, optionally quoted (as in ETag headers).
    public var expectedSHA256: String?
    /// Continue from an existing `.part` file with a Range request instead of starting over.
    public var resume: Bool
    public var headers: HTTPHeaders
    /// Limit for the whole transfer; nil (the default) means none, the stall timeout still applies.
    public var timeout: Duration?

    public init(
        url: String,
        destination: String,
        expectedSize: Int64? = nil,
        expectedSHA256: String? = nil,
        resume: Bool = true,
        headers: HTTPHeaders = [:],
        timeout: Duration? = nil
    ) {
        self.url = url
        self.destination = destination
        self.expectedSize = expectedSize
        self.expectedSHA256 = expectedSHA256
        self.resume = resume
        self.headers = headers
        self.timeout = timeout
    }

    public var partialPath: String { destination + ".part" }
}

/// A downloaded, verified file.
public struct DownloadResult: Sendable, Equatable {
    public var path: String
    public var size: Int64
    /// Lower-case hex SHA-256 of the whole file, resumed part included.
    public var sha256: String
    /// Bytes kept from an earlier interrupted download (0 when it started from scratch).
    public var resumedFrom: Int64

    public init(path: String, size: Int64, sha256: String, resumedFrom: Int64) {
        self.path = path
        self.size = size
        self.sha256 = sha256
        self.resumedFrom = resumedFrom
    }
}

/// Byte-count progress of a download: bytes on disk so far (resumed part included) and the
/// full size when the server said it.
public typealias DownloadProgress = @Sendable (_ bytes: Int64, _ total: Int64?) -> Void

/// `Content-Range: bytes 100-199/300` or `bytes */300` (the form of a 416 answer).
struct ContentRange: Equatable {
    var start: Int64?
    var total: Int64?

    init?(_ header: String?) {
        guard let header, header.hasPrefix("bytes ") else { return nil }
        let spec = header.dropFirst(6).split(separator: "/", maxSplits: 1)
        guard spec.count == 2 else { return nil }
        total = Int64(spec[1].trimmingSpaces)
        let range = spec[0].trimmingSpaces
        if range == "*" {
            start = nil
        } else {
            guard let dash = range.firstIndex(of: "-"), let first = Int64(range[..<dash]) else { return nil }
            start = first
        }
    }

}
