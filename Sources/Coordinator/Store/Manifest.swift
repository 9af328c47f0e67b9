import Foundation
import LabelAPI

/// Parses a submitted image manifest. Pure: no I/O besides the text it is given.
///
/// Each non-blank line that does not start with `#` is one image, either
/// - a JSON object `{"id": "cat", "uri": "https://host/cat.jpg"}` (`id` optional: derived from the uri), or
/// - a plain path or URL, whose file stem becomes the id: `dir/cat.01.jpg` → `cat.01`, with characters an id may not
///   hold as `_` (`dir/cat one.jpg` → `cat_one`), the rule `run` uses for a folder's files (`ImageID.from`).
///
/// Ids must be unique and safe as file names (see `ImageID`). A line that breaks a rule is rejected alone, with
/// its line number (`manifest line 7: id "../x" is not a safe file name (leading '.')`), and the other lines go
/// on (see `ManifestItem.rejection`); a manifest with no good line at all is refused. A line over `maxLineBytes`
/// is rejected by its length alone, and every message quotes what it rejects clipped (`MessageText.clipped`), so
/// one hostile line costs its size to read and nothing after that.
public enum Manifest {
    /// The longest line taken, in bytes: far above any URL a store or server accepts (S3 keys are at most 1,024
    /// bytes, presigned URLs a few KB), far below what would make a line costly to quote.
    public static let maxLineBytes = 16_384

    /// Parses UTF-8 manifest bytes.
    public static func parse(_ data: Data) throws(StoreError) -> [ManifestItem] {
        guard let text = String(data: data, encoding: .utf8) else { throw .invalid("manifest is not valid UTF-8") }
        return try parse(text)
    }

    /// Parses manifest text; items keep the manifest's order.
    public static func parse(_ text: String) throws(StoreError) -> [ManifestItem] {
        var items: [ManifestItem] = []
        var lineOfID: [String: Int] = [:]
        var number = 0
        // "\r\n" is one Character in Swift, so it is named as a separator of its own.
        let lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }
        for line in lines {
            number += 1
            guard var item = item(line, number: number) else { continue }
            if let first = lineOfID[item.id] { item.reject(duplicateOf: first) }
            while lineOfID[item.id] != nil { item.id += "#" }
            lineOfID[item.id] = number
            items.append(item)
        }
        if items.isEmpty { throw .invalid("manifest is empty: no image lines") }
        let rejected = items.compactMap(\.rejection)
        if rejected.count == items.count {
            throw .invalid("manifest has no usable line: " + rejected.prefix(5).joined(separator: "; ") + (rejected.count > 5 ? "; ..." : ""))
        }
        return items
    }

    /// One manifest line as an item, or nil for a blank or `#` comment line. A line that cannot be an image is
    /// an item with its `rejection`; whether its id repeats an earlier one is for the caller to say.
    public static func item(_ rawLine: Substring, number: Int) -> ManifestItem? {
        if rawLine.utf8.count > maxLineBytes { return overlong(rawLine, bytes: rawLine.utf8.count, number: number) }
        var line = rawLine
        if number == 1, line.hasPrefix("\u{FEFF}") { line = line.dropFirst() }
        let trimmed = trimmingWhitespace(line)
        if trimmed.isEmpty || trimmed.hasPrefix("#") { return nil }
        var item: ManifestItem
        do {
            // A line that starts or ends like a JSON object is one that went wrong (a lost brace), not a path.
            let looksLikeJSON = trimmed.hasPrefix("{") || trimmed.hasSuffix("}") || trimmed.hasPrefix("\"")
            item = looksLikeJSON ? try jsonItem(trimmed, line: number) : try plainItem(trimmed, line: number)
            item.id = ImageID.normalized(item.id)
            if let problem = ImageID.problem(item.id) {
                item.rejection = "manifest line \(number): id \(MessageText.clipped(item.id).debugDescription) \(problem)"
            } else if let problem = ImageURI.unsupported(item.uri) {
                item.rejection = "manifest line \(number): \(MessageText.clipped(problem, to: 500))"
            }
        } catch {
            item = ManifestItem(id: "", uri: MessageText.clipped(trimmed, to: 500), line: number, rejection: error.message)
        }
        if item.rejection != nil, item.id.isEmpty || item.id.utf8.count > 1000
            || item.id.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            item.id = "#\(number)"
        }
        return item
    }

    /// `line` without the white space (and line breaks) at either end: Foundation's trimming, without its cost
    /// (a ten-million-line manifest is trimmed line by line).
    static func trimmingWhitespace(_ line: Substring) -> String {
        var scalars = line.unicodeScalars[...]
        while let first = scalars.first, first.properties.isWhitespace { scalars = scalars.dropFirst() }
        while let last = scalars.last, last.properties.isWhitespace { scalars = scalars.dropLast() }
        return String(Substring(scalars))
    }

    /// The item of a line over `maxLineBytes` (`bytes` long; `start` is as much of it as was kept): rejected,
    /// quoted by its start.
    public static func overlong(_ start: Substring, bytes: Int, number: Int) -> ManifestItem {
        ManifestItem(id: "#\(number)", uri: MessageText.clipped(start, to: 100), line: number,
                     rejection: "manifest line \(number): the line is \(bytes) bytes long, over the limit of \(maxLineBytes) bytes")
    }

    /// The id a uri gets when none is given: its last path component without query, fragment and last extension.
    /// `s3://bucket/a/cat.01.jpg?v=2` → `cat.01`; `dir\img.png` → `img`; `README` → `README`.
    public static func stem(of uri: String) -> String {
        uri.utf8.allSatisfy({ $0 < 0x80 }) ? asciiStem(of: uri) : characterStem(of: uri)
    }

    package static func characterStem(of uri: String) -> String {
        var path = Substring(uri)
        if ImageURI.schemeSeparator(path) != nil, let cut = path.firstIndex(where: { $0 == "?" || $0 == "#" }) {
            path = path[..<cut]
        }
        while let last = path.last, last == "/" || last == "\\" { path = path.dropLast() }
        if let slash = path.lastIndex(where: { $0 == "/" || $0 == "\\" }) {
            path = path[path.index(after: slash)...]
        }
        if let dot = path.lastIndex(of: "."), dot != path.startIndex {
            path = path[..<dot]
        }
        return String(path)
    }

    /// `stem(of:)` by bytes, for ASCII (a byte is a character there): ten times faster than by characters.
    package static func asciiStem(of uri: String) -> String {
        var bytes = Substring(uri).utf8[...]
        if ImageURI.schemeSeparator(Substring(uri)) != nil,
           let cut = bytes.firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) {
            bytes = bytes[..<cut]
        }
        let isSlash = { (byte: UInt8) in byte == UInt8(ascii: "/") || byte == UInt8(ascii: "\\") }
        while let last = bytes.last, isSlash(last) { bytes = bytes.dropLast() }
        if let slash = bytes.lastIndex(where: isSlash) { bytes = bytes[bytes.index(after: slash)...] }
        if let dot = bytes.lastIndex(of: UInt8(ascii: ".")), dot != bytes.startIndex { bytes = bytes[..<dot] }
        return String(Substring(bytes))
    }

    private static func plainItem(_ line: String, line number: Int) throws(StoreError) -> ManifestItem {
        ManifestItem(id: ImageID.from(stem(of: line)), uri: line, line: number)
    }

    private static func jsonItem(_ line: String, line number: Int) throws(StoreError) -> ManifestItem {
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: Data(line.utf8))
        } catch {
            throw .invalid("manifest line \(number): not valid JSON")
        }
        guard let object = parsed as? [String: Any] else {
            throw .invalid("manifest line \(number): not a JSON object")
        }
        guard let uriValue = object["uri"], !(uriValue is NSNull) else {
            throw .invalid("manifest line \(number): \"uri\" is missing")
        }
        guard let uri = uriValue as? String else { throw .invalid("manifest line \(number): \"uri\" must be a string") }
        if uri.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw .invalid("manifest line \(number): \"uri\" is empty")
        }
        switch object["id"] {
        case nil, is NSNull:
            return ManifestItem(id: ImageID.from(stem(of: uri)), uri: uri, line: number)
        case let id as String:
            return ManifestItem(id: id, uri: uri, line: number)
        default:
            throw .invalid("manifest line \(number): \"id\" must be a string")
        }
    }
}
