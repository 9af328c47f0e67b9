import Support
import LabelAPI

/// A stored label map of one image; the HTTP layer writes the file, the store records where and what it is.
public struct LabelFile: Codable, Sendable, Equatable, Hashable {
    /// Lowercase hex SHA-256 of the file's bytes.
    public var sha256: String
    public var bytes: Int64
    public var width: Int
    public var height: Int
    /// Relative to the coordinator's data directory.
    public var relativePath: String

    public init(sha256: String, bytes: Int64, width: Int, height: Int, relativePath: String) {
        self.sha256 = sha256
        self.bytes = bytes
        self.width = width
        self.height = height
        self.relativePath = relativePath
    }

    /// Why this cannot be recorded, or nil.
    var problem: String? {
        if !SHA256Hex.isValid(sha256) { return "label sha256 must be 64 lowercase hex digits" }
        if bytes < 0 { return "label bytes must not be negative" }
        if width < 1 || height < 1 { return "label width and height must be positive" }
        if relativePath.isEmpty { return "label relativePath is empty" }
        return nil
    }
}

/// What `Store.recordLabel` did.
public enum LabelOutcome: String, Codable, Sendable, Equatable {
    /// The image is now done with this label.
    case recorded
    /// The image was already done with this very label (a retried upload); nothing changed.
    case unchanged
}
