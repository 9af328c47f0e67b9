import Foundation

/// `classes.json` next to label maps: index (the pixel value), name, synonyms (when it has any) and palette
/// colour of every class, plus the void value.
public struct ClassList: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        public let index: Int
        public let name: String
        /// The class's further names (each a query of its own); absent when it has none.
        public let synonyms: [String]?
        public let color: String
    }

    public let classes: [Entry]
    public let void: Entry

    /// `synonyms`: none, or one list per class.
    public init(_ names: [String], synonyms: [[String]] = [], palette: LabelPalette = .voc) {
        classes = names.enumerated().map { index, name in
            let more = synonyms.isEmpty || synonyms[index].isEmpty ? nil : synonyms[index]
            return Entry(index: index, name: name, synonyms: more, color: palette.hex(index))
        }
        void = Entry(index: 255, name: "void", synonyms: nil, color: palette.hex(255))
    }

    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}
