import Foundation
import LabelAPI
import Support

/// What a Label Studio project's label config (its XML) says to the ML backend: the `<BrushLabels>` tag to answer
/// (its `name` and `toName`), the `<Image>` it labels (whose `value="$key"` names the task data field with the
/// image URL), and the classes: its `<Label value>`s in order, with synonyms from each label's `hint` (names
/// separated by commas). Read with a small scanner of tags and attributes: the config is a flat list of tags.
package struct LabelStudioConfig: Sendable, Equatable {
    package var fromName: String
    package var toName: String
    package var dataKey: String
    package var classes: [String]
    package var synonyms: [String: [String]]

    package init(xml: String) throws(CoordinatorError) {
        var brush: (name: String, to: String)?
        var inBrush = false
        var images: [String: String] = [:]
        var classes: [String] = [], synonyms: [String: [String]] = [:]
        for tag in Self.tags(xml) {
            switch tag.name {
            case "BrushLabels" where !tag.closing:
                guard brush == nil else { throw CoordinatorError(.badRequest, "the label config has more than one <BrushLabels>: labelmill answers one") }
                guard let name = tag.attributes["name"], let to = tag.attributes["toName"] else {
                    throw CoordinatorError(.badRequest, "the label config's <BrushLabels> needs name and toName")
                }
                brush = (name, to)
                inBrush = !tag.selfClosing
            case "BrushLabels":
                inBrush = false
            case "Label" where inBrush && !tag.closing:
                guard let value = tag.attributes["value"], !value.isEmpty else { continue }
                classes.append(value)
                let names = (tag.attributes["hint"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                if !names.isEmpty { synonyms[value] = names }
            case "Image" where !tag.closing:
                if let name = tag.attributes["name"], let value = tag.attributes["value"] { images[name] = value }
            default:
                break
            }
        }
        guard let brush else {
            throw CoordinatorError(.badRequest, "the label config has no <BrushLabels>: labelmill answers semantic segmentation as brush labels")
        }
        guard let value = images[brush.to], value.hasPrefix("$"), value.count > 1 else {
            throw CoordinatorError(.badRequest, "the label config's <BrushLabels toName=\"\(brush.to)\"> names no <Image name=\"\(brush.to)\" value=\"$field\">")
        }
        guard !classes.isEmpty else { throw CoordinatorError(.badRequest, "the label config's <BrushLabels> has no <Label value=\"…\">") }
        (fromName, toName, dataKey) = (brush.name, brush.to, String(value.dropFirst()))
        (self.classes, self.synonyms) = (classes, synonyms)
    }

    struct Tag {
        var name: String
        var attributes: [String: String]
        var closing: Bool
        var selfClosing: Bool
    }

    /// The tags of `xml` in order, comments and declarations skipped.
    static func tags(_ xml: String) -> [Tag] {
        var tags: [Tag] = []
        var rest = Substring(xml)
        while let open = rest.firstIndex(of: "<") {
            rest = rest[rest.index(after: open)...]
            if rest.hasPrefix("!--") {
                guard let end = rest.range(of: "-->") else { break }
                rest = rest[end.upperBound...]
                continue
            }
            guard let close = Self.tagEnd(rest) else { break }
            var body = rest[..<close]
            rest = rest[rest.index(after: close)...]
            if body.hasPrefix("?") || body.hasPrefix("!") { continue }
            let closing = body.hasPrefix("/")
            if closing { body = body.dropFirst() }
            let selfClosing = body.hasSuffix("/")
            if selfClosing { body = body.dropLast() }
            let name = String(body.prefix { !$0.isWhitespace })
            tags.append(Tag(name: name, attributes: attributes(body.dropFirst(name.count)), closing: closing, selfClosing: selfClosing))
        }
        return tags
    }

    /// The `>` that ends a tag, outside quoted attribute values.
    private static func tagEnd(_ text: Substring) -> Substring.Index? {
        var quote: Character?
        for index in text.indices {
            let c = text[index]
            if let q = quote { if c == q { quote = nil } } else if c == "\"" || c == "'" { quote = c } else if c == ">" { return index }
        }
        return nil
    }

    /// `name="value"` and `name='value'` pairs, entities in values unescaped.
    private static func attributes(_ text: Substring) -> [String: String] {
        var attributes: [String: String] = [:]
        var rest = text
        while let equals = rest.firstIndex(of: "=") {
            let name = rest[..<equals].trimmingCharacters(in: .whitespacesAndNewlines)
            var after = rest[rest.index(after: equals)...].drop { $0.isWhitespace }
            guard let quote = after.first, quote == "\"" || quote == "'" else { break }
            after = after.dropFirst()
            guard let end = after.firstIndex(of: quote) else { break }
            attributes[name] = MarkupText.unescape(String(after[..<end]))
            rest = after[after.index(after: end)...]
        }
        return attributes
    }
}
