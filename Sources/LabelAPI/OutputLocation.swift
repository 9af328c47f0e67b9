/// Where a job's workers write its labels instead of uploading them to the coordinator (`submit --output`,
/// docs/STORAGE.md): an S3 prefix (`s3://bucket/prefix/`) or a folder every worker mounts (`file:///shared/path/`).
/// The job stores only this URI; each worker writes, and `verify` and `export` read, with their own credentials.
///
/// The layout under it: `labels/<id>.png`, `confidence/<id>.png` and, for a WebDataset job, `shards/<name>` (the
/// input shard's name) holding each sample's members.
public struct OutputLocation: Sendable, Equatable, CustomStringConvertible {
    public enum Store: Sendable, Equatable {
        /// The bucket and the prefix every key goes under (empty or ending in `/`).
        case s3(bucket: String, prefix: String)
        /// The folder (absolute, ending in `/`).
        case folder(String)
    }

    public let store: Store

    /// Parses `s3://bucket/prefix` or `file:///absolute/folder`; a missing final `/` is added (the URI names a
    /// folder, never an object).
    public init(_ uri: String) throws(SettingError) {
        func refuse(_ why: String) -> SettingError {
            SettingError(field: "output", value: uri.debugDescription, allowed: "s3://bucket/prefix/ or file:///absolute/folder/ (\(why))")
        }
        if S3Location.isS3(uri) {
            let location: S3Location
            do { location = try S3Location.parse(uri) } catch { throw refuse(error.description) }
            var prefix = location.key
            if !prefix.isEmpty && !prefix.hasSuffix("/") { prefix += "/" }
            if prefix.split(separator: "/", omittingEmptySubsequences: false).dropLast().contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) {
                throw refuse("the prefix has an empty, . or .. part")
            }
            store = .s3(bucket: location.bucket, prefix: prefix)
        } else if uri.hasPrefix("file://") {
            var path = String(uri.dropFirst("file://".count))
            guard path.hasPrefix("/") else { throw refuse("a file:// URI names an absolute folder: file:///path/") }
            guard !path.contains("%") else { throw refuse("write the folder without percent-encoding") }
            if !path.hasSuffix("/") { path += "/" }
            if path.split(separator: "/").contains(where: { $0 == "." || $0 == ".." }) { throw refuse("the folder has a . or .. part") }
            store = .folder(path)
        } else {
            throw refuse("labels go to S3 or a shared folder")
        }
    }

    /// The URI, normalized (ends in `/`).
    public var description: String {
        switch store {
        case .s3(let bucket, let prefix): "s3://\(bucket)/\(prefix)"
        case .folder(let path): "file://\(path)"
        }
    }

    /// The URI of the object at `key` under it.
    public func uri(of key: String) -> String { description + key }

    /// The keys of an image's label and confidence map under the location: `labels/<id>.png` and
    /// `confidence/<id>.png`; a WebDataset sample's (`uri` is `SHARD#KEY`) are members of its output shard,
    /// `shards/<name>#<KEY>.label.png` and `…#<KEY>.conf.png`. Workers write there and the coordinator checks a
    /// receipt's key with the same rule.
    public static func keys(id: String, uri: String, tarShards: Bool) -> (label: String, confidence: String) {
        if tarShards, let hash = uri.firstIndex(of: "#") {
            let object = shardKey(ShardSpec.name(of: String(uri[..<hash]))), key = uri[uri.index(after: hash)...]
            return ("\(object)#\(key).label.png", "\(object)#\(key).conf.png")
        }
        return ("labels/\(id).png", "confidence/\(id).png")
    }

    /// Where a WebDataset job's output shard `name` goes.
    public static func shardKey(_ name: String) -> String { "shards/\(name)" }

    /// A key as the object and, inside a shard, the member: `shards/a.tar#k.label.png` → (`shards/a.tar`, `k.label.png`).
    public static func split(_ key: String) -> (object: String, member: String?) {
        guard let hash = key.firstIndex(of: "#") else { return (key, nil) }
        return (String(key[..<hash]), String(key[key.index(after: hash)...]))
    }
}
