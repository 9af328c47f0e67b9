import Foundation
import Inference
import LabelAPI
import Support

/// `labelmill submit --from s3://bucket/prefix/`: a manifest of the objects under a prefix, written as JSON Lines a
/// listing page at a time (a million keys never sit in memory). An object's id is its key after the prefix's last
/// `/`, without the extension, with `/` and other characters ids may not hold as `_` (the rule folders follow:
/// `photos/cats/001 b.jpg` under `photos/` is `cats_001_b`).
public enum S3Manifest {
    /// Writes the manifest to `path` (created for its owner only); returns how many objects it lists. `pattern` is a shell glob matched against
    /// the key after the prefix's last `/` (`*` also matches `/`); without one, the image extensions of a folder.
    public static func write(from prefix: S3Location, pattern: String?, client: S3Client, to path: String) async throws -> Int {
        let out = try StreamFile(path, mode: 0o600)
        let base = prefix.key.lastIndex(of: "/").map { prefix.key[...$0].count } ?? 0
        let encoder = WireJSON.encoder()
        var count = 0
        try await client.list(prefix) { objects in
            for object in objects where !object.key.hasSuffix("/") {
                let relative = String(object.key.dropFirst(base))
                guard matches(relative, pattern: pattern) else { continue }
                let uri = S3Location(bucket: prefix.bucket, key: object.key).description
                try out.write(String(decoding: try encoder.encode(["id": id(of: relative), "uri": uri]), as: UTF8.self) + "\n")
                count += 1
            }
        }
        try out.close()
        return count
    }

    package static func matches(_ relative: String, pattern: String?) -> Bool {
        guard let pattern else {
            let name = relative.split(separator: "/").last ?? ""
            guard let dot = name.lastIndex(of: ".") else { return false }
            return ImageFolder.extensions.contains(name[name.index(after: dot)...].lowercased())
        }
        return fnmatch(pattern, relative, 0) == 0
    }

    package static func id(of relative: String) -> String {
        let name = relative.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
        let dot = name.lastIndex(of: ".").flatMap { $0 == name.startIndex ? nil : $0 }
        let stem = dot.map { relative.dropLast(name[$0...].count) } ?? relative[...]
        return ImageID.from(String(stem))
    }
}
