import Foundation

/// A classes file: one class per line, in label order. A line may give further names of its class after the
/// first, comma-separated ("person, person in shirt, person in jacket"), as the newer methods' class files do: the
/// first is the class's name, the rest its synonyms. Blank lines and lines whose first non-blank character is `#`
/// (comments) are skipped; spaces around names are not part of them.
public struct ClassFile: Sendable, Equatable {
    public var names: [String]
    /// Synonyms by class name, as `JobSettings.synonyms` takes them; classes without synonyms are left out.
    public var synonyms: [String: [String]]

    public init(names: [String], synonyms: [String: [String]] = [:]) {
        self.names = names
        self.synonyms = synonyms
    }

    public init(text: String) {
        var names: [String] = []
        var synonyms: [String: [String]] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            if line.trimmingCharacters(in: .whitespaces).hasPrefix("#") { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard let name = fields.first, !(fields.count == 1 && name.isEmpty) else { continue }
            names.append(name)
            // Further names of a class listed twice are kept together; the class names' check refuses the repeat.
            if fields.count > 1 { synonyms[name, default: []] += fields.dropFirst() }
        }
        self.init(names: names, synonyms: synonyms)
    }
}
