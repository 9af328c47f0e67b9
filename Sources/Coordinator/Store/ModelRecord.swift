import Foundation
import LabelAPI

/// One file of a model: a name in the model's directory and the blob holding its bytes.
public struct ModelFileEntry: Codable, Sendable, Equatable, Hashable {
    public var name: String
    public var sha256: String
    public var size: Int64

    public init(name: String, sha256: String, size: Int64) {
        self.name = name
        self.sha256 = sha256
        self.size = size
    }
}

/// A registered model: content-addressed by its files.
public struct ModelRecord: Codable, Sendable, Equatable {
    /// SHA-256 of the canonical JSON of the files sorted by name (see `Store.modelId(files:)`).
    public var id: String
    /// When found by name, that name; when found by id, the name it was last registered under.
    public var name: String
    /// Sorted by name.
    public var files: [ModelFileEntry]
    public var createdAt: Date
}

/// A content-addressed file known to the store.
public struct BlobRecord: Codable, Sendable, Equatable {
    public var sha256: String
    public var size: Int64
    public var relativePath: String
    public var createdAt: Date

    package init(sha256: String, size: Int64, relativePath: String, createdAt: Date) {
        self.sha256 = sha256; self.size = size; self.relativePath = relativePath; self.createdAt = createdAt
    }
}
