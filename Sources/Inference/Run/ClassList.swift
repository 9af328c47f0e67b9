import Foundation

/// `classes.json` next to label maps: index (the pixel value), name and palette colour of every class,
/// plus the void value.
public struct ClassList: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        public let index: Int
        public let name: String
        public let color: String
    }

    public let classes: [Entry]
    public let void: Entry

    public init(_ names: [String], palette: LabelPalette = .voc) {
        classes = names.enumerated().map { Entry(index: $0.offset, name: $0.element, color: palette.hex($0.offset)) }
        void = Entry(index: 255, name: "void", color: palette.hex(255))
    }

    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}
