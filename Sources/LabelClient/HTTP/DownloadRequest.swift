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
    /// Leave a stamp next to a file verified against `expectedSHA256`, so the next check of it (in this process or
    /// another) needs no full hash while the file stays as it was (see `CachedFile`).
    public var stamp: Bool
    /// Signed as S3 wants it (an s3:// object fetched into a file: a WebDataset shard).
    public var awsSignature: ClientRequest.AWSSignature?

    public init(
        url: String,
        destination: String,
        expectedSize: Int64? = nil,
        expectedSHA256: String? = nil,
        resume: Bool = true,
        headers: HTTPHeaders = [:],
        timeout: Duration? = nil,
        stamp: Bool = false
    ) {
        self.url = url
        self.destination = destination
        self.expectedSize = expectedSize
        self.expectedSHA256 = expectedSHA256
        self.resume = resume
        self.headers = headers
        self.timeout = timeout
        self.stamp = stamp
    }

    public var partialPath: String { destination + ".part" }
}

/// A downloaded, verified file.
public struct DownloadResult: Sendable, Equatable {
    public var path: String
    public var size: Int64
    /// Lower-case hex SHA-256 of the whole file as it is on disk.
    public var sha256: String
    /// Bytes kept from an earlier interrupted download (0 when it started from scratch; the size when reused).
    public var resumedFrom: Int64
    /// The destination was already there and verified: nothing was transferred.
    public var reused: Bool
    /// Why a destination that was there was deleted instead of used (corrupt, wrong size), if one was.
    public var discarded: String?

    public init(path: String, size: Int64, sha256: String, resumedFrom: Int64, reused: Bool = false, discarded: String? = nil) {
        self.path = path
        self.size = size
        self.sha256 = sha256
        self.resumedFrom = resumedFrom
        self.reused = reused
        self.discarded = discarded
    }
}

/// Byte-count progress of a download: bytes on disk so far (resumed part included) and the
/// full size when the server said it.
public typealias DownloadProgress = @Sendable (_ bytes: Int64, _ total: Int64?) -> Void

/// `Content-Range: bytes 100-199/300` or `bytes */300` (the form of a 416 answer).
package struct ContentRange: Equatable {
    package var start: Int64?
    package var total: Int64?

    package init(start: Int64?, total: Int64?) { (self.start, self.total) = (start, total) }

    package init?(_ header: String?) {
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
