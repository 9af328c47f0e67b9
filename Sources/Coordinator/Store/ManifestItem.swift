import LabelAPI

/// One image of a submitted manifest: its id (a safe file name, unique in the job), where to fetch it, and the
/// manifest line it came from (1-based, for error messages).
///
/// A line that cannot be an image (malformed, an unsafe or duplicate id) is still an item, with `rejection`
/// saying why: the job takes it as failed from the start and labels the rest. Its id is then the line's own id
/// when that is unique and free of control characters (NUL would not survive SQLite), or `#<line>`; either way
/// it never names a file, since a rejected image gets no label.
public struct ManifestItem: Codable, Sendable, Equatable, Hashable {
    public var id: String
    public var uri: String
    public var line: Int
    public var rejection: String?

    public init(id: String, uri: String, line: Int, rejection: String? = nil) {
        self.id = id
        self.uri = uri
        self.line = line
        self.rejection = rejection
    }

    /// Marks the item as repeating the id of line `first`; it keeps its place but takes the id `#<line>`.
    mutating func reject(duplicateOf first: Int) {
        if rejection == nil { rejection = "manifest line \(line): id \(id.debugDescription) duplicates line \(first)" }
        id = "#\(line)"
    }
}
