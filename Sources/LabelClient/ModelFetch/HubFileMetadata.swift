import Support

/// What the hub says about one file before it is downloaded: its size and, for LFS files,
/// its SHA-256.
struct HubFileMetadata: Equatable {
    var size: Int64?
    var sha256: String?

    /// LFS files answer `resolve` with a redirect to the CDN that carries `X-Linked-Size` and
    /// `X-Linked-Etag` (the SHA-256, quoted); other files answer 200 with `Content-Length` and an
    /// `ETag` that is a git SHA-1, which `normalizedSHA256` rejects. So: HEAD without following
    /// redirects first, then HEAD following them for what the first one lacked.
    static func probe(_ url: String, client: HTTPClient, retry: RetryPolicy) async throws(CurlError) -> HubFileMetadata {
        let direct = try await client.send(ClientRequest(method: .head, url: url, followRedirects: false), retry: retry)
        var metadata = HubFileMetadata(linkedFrom: direct.headers)
        guard (300..<400).contains(direct.status) else {
            try direct.requireOK("HEAD \(url)")
            metadata.fill(from: direct.headers)
            return metadata
        }
        let followed = try await client.send(ClientRequest(method: .head, url: url, followRedirects: true), retry: retry)
        if followed.isSuccess {
            metadata.fill(from: followed.headers)
        } else if metadata.size == nil {
            try followed.requireOK("HEAD \(url) (following redirects)")
        }
        return metadata
    }

    init(size: Int64? = nil, sha256: String? = nil) {
        self.size = size
        self.sha256 = sha256
    }

    /// The hub's own LFS headers, valid on a redirect as well as on a final response.
    init(linkedFrom headers: HTTPHeaders) {
        size = headers["X-Linked-Size"].flatMap { Int64($0) }
        sha256 = SHA256Hex.normalized(headers["X-Linked-Etag"])
    }

    /// Fills what is still unknown from a final response's generic headers.
    mutating func fill(from headers: HTTPHeaders) {
        let linked = HubFileMetadata(linkedFrom: headers)
        size = size ?? linked.size ?? headers["Content-Length"].flatMap { Int64($0) }
        sha256 = sha256 ?? linked.sha256 ?? SHA256Hex.normalized(headers["ETag"])
    }
}
