/// One image of a submitted manifest: its id (a safe file name, unique in the job), where to fetch it, and the
/// manifest line it came from (1-based, for error messages).
public struct ManifestItem: Codable, Sendable, Equatable, Hashable {
    public var id: String
    public var uri: String
    public var line: Int

    public init(id: String, uri: String, line: Int) {
        self.id = id
        self.uri = uri
        self.line = line
    }
}
