/// One file of a model fetch, on disk and checked.
public struct FetchedFile: Sendable, Equatable {
    /// Repository path, e.g. `model.safetensors`.
    public var name: String
    public var path: String
    public var size: Int64
    /// Lower-case hex SHA-256 of the file on disk.
    public var sha256: String
    /// True when the file was already complete and nothing was downloaded.
    public var skipped: Bool
    /// True when the hub published a SHA-256 (LFS files) and the file matched it; otherwise only
    /// the size was checked.
    public var verifiedSHA256: Bool

    public init(name: String, path: String, size: Int64, sha256: String, skipped: Bool, verifiedSHA256: Bool) {
        self.name = name
        self.path = path
        self.size = size
        self.sha256 = sha256
        self.skipped = skipped
        self.verifiedSHA256 = verifiedSHA256
    }
}

/// Progress of a model fetch, reported from the transfer thread (keep the handler quick).
public struct FetchProgress: Sendable, Equatable {
    /// Repository path of the file being fetched.
    public var file: String
    /// Bytes of this file on disk so far, a resumed part included.
    public var bytes: Int64
    /// Full size of the file when known.
    public var total: Int64?
    /// The file was already complete; this is its only report.
    public var skipped: Bool

    public init(file: String, bytes: Int64, total: Int64?, skipped: Bool = false) {
        self.file = file
        self.bytes = bytes
        self.total = total
        self.skipped = skipped
    }
}
