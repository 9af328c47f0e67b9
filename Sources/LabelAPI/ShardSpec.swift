import Foundation

/// WebDataset shards: how `--shards SPEC` names them, and how a shard's members group into samples.
public enum ShardSpec {
    /// More shards than this in one spec is taken for a typo (`{0..999999999}`), not a job.
    public static let maxShards = 10_000_000

    /// The shard URIs a brace pattern names, in order: `{000..127}` (a range, zero-padded to its first bound's
    /// width when that has leading zeros), `{a,b,c}` (alternatives); several braces give every combination.
    /// A spec without braces is one shard.
    public static func expand(_ spec: String) throws(ShardSpecError) -> [String] {
        var results = [""]
        var rest = Substring(spec)
        while let open = rest.firstIndex(of: "{") {
            guard let close = rest[open...].firstIndex(of: "}") else { throw ShardSpecError("\(spec): a `{` without its `}`") }
            let literal = String(rest[..<open])
            let choices = try alternatives(String(rest[rest.index(after: open)..<close]), in: spec)
            guard results.count.multipliedReportingOverflow(by: choices.count).partialValue <= maxShards,
                  !results.count.multipliedReportingOverflow(by: choices.count).overflow else {
                throw ShardSpecError("\(spec) names more than \(maxShards) shards")
            }
            results = results.flatMap { prefix in choices.map { prefix + literal + $0 } }
            rest = rest[rest.index(after: close)...]
        }
        guard !rest.contains("}") else { throw ShardSpecError("\(spec): a `}` without its `{`") }
        return results.map { $0 + rest }
    }

    private static func alternatives(_ body: String, in spec: String) throws(ShardSpecError) -> [String] {
        if body.contains(",") { return body.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let bounds = body.components(separatedBy: "..")
        guard bounds.count == 2, let low = Int(bounds[0]), let high = Int(bounds[1]), low >= 0, high >= low,
              bounds.allSatisfy({ $0.allSatisfy(\.isASCII) && !$0.isEmpty && $0.allSatisfy(\.isNumber) }) else {
            throw ShardSpecError("\(spec): {\(body)} is neither a range like {0000..0127} nor a list like {a,b}")
        }
        guard high - low < maxShards else { throw ShardSpecError("\(spec) names more than \(maxShards) shards") }
        let width = bounds[0].hasPrefix("0") && bounds[0].count > 1 ? bounds[0].count : 0
        return (low...high).map { number in
            let digits = String(number)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
    }

    /// The shards `--shards SPEC` names: a text file listing them (one URI a line), or a brace pattern.
    public static func shards(_ spec: String) throws(ShardSpecError) -> [String] {
        var isFolder: ObjCBool = false
        if !spec.contains("{"), !spec.lowercased().hasSuffix(".tar"), FileManager.default.fileExists(atPath: spec, isDirectory: &isFolder) {
            guard !isFolder.boolValue, let text = try? String(contentsOfFile: spec, encoding: .utf8) else {
                throw ShardSpecError("\(spec) is not a readable text file listing shards (one .tar URI a line)")
            }
            let shards = listed(text)
            guard !shards.isEmpty else { throw ShardSpecError("\(spec) lists no shards") }
            guard shards.count <= maxShards else { throw ShardSpecError("\(spec) lists more than \(maxShards) shards") }
            return shards
        }
        return try expand(spec)
    }

    /// The shards of a list file's text: one URI a line; blank lines and `#` comments are skipped.
    public static func listed(_ text: String) -> [String] {
        text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }

    /// A shard's name (its last path component, `train-000001.tar`): its output shard has the same name.
    public static func name(of uri: String) -> String {
        let path = uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? uri
        return path.split(separator: "/").last.map(String.init) ?? path
    }

    /// A member's sample key and extension, as WebDataset splits them: the key runs to the first dot of the file
    /// name (folders included), the extension is the rest. Nil for a name with no dot in its file name.
    public static func split(member name: String) -> (key: String, ext: String)? {
        let file = name.lastIndex(of: "/").map { name.index(after: $0) } ?? name.startIndex
        guard let dot = name[file...].firstIndex(of: "."), dot > file else { return nil }
        return (String(name[..<dot]), String(name[name.index(after: dot)...]))
    }

    /// The extensions (lowercased) that make a member the image of its sample.
    public static let imageExtensions: Set<String> = ["jpg", "jpeg", "png", "webp", "ppm", "pgm", "bmp", "gif", "tif", "tiff"]
}

/// A `--shards` spec that names no shards, or too many.
public struct ShardSpecError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
