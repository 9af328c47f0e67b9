/// A model directory stored content-addressed: each file is a blob named by its sha256; the model's id is
/// the sha256 of its canonical file list.
public struct ModelFile: Codable, Sendable, Equatable {
    public var name: String
    public var sha256: String
    public var size: Int64
    public init(name: String, sha256: String, size: Int64) { (self.name, self.sha256, self.size) = (name, sha256, size) }
}

/// `POST /v1/models` registers a name for files already uploaded as blobs.
public struct RegisterModelRequest: Codable, Sendable {
    public var name: String
    public var files: [ModelFile]
    public init(name: String, files: [ModelFile]) { (self.name, self.files) = (name, files) }
}

public struct ModelManifest: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var files: [ModelFile]
    public init(id: String, name: String, files: [ModelFile]) { (self.id, self.name, self.files) = (id, name, files) }
}
