import Foundation
import LabelAPI
import Support

/// A job's output (`submit --output`, docs/STORAGE.md) as this process reaches it: an S3 prefix signed with this
/// host's AWS credentials, or a folder it mounts. Workers write labels and output shards there; `verify` and
/// `export` read them back. Writes are whole or nothing: one PUT, or a temporary file renamed into place.
public struct OutputStore: Sendable {
    public let location: OutputLocation
    /// How an S3 output is reached, or why it cannot be (the same resolution as s3:// images).
    let s3: Result<S3Client, S3Error>

    public init(_ location: OutputLocation, s3: Result<S3Client, S3Error>) {
        self.location = location
        self.s3 = s3
    }

    /// The key of an object URI under the location (as results.jsonl gives them).
    public func key(of uri: String) -> String {
        uri.hasPrefix(location.description) ? String(uri.dropFirst(location.description.count)) : uri
    }

    /// A failed read or write, in words; `missing` when the object is not there (a 404, no such file).
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
        public let missing: Bool
        public let retryable: Bool
    }

    /// Writes `bytes` at `key`.
    public func write(_ bytes: [UInt8], to key: String, contentType: String) async throws(Failure) {
        try await write(.bytes(bytes), sha256: SHA256Hex.of(bytes), to: key, contentType: contentType)
    }

    /// Writes the file at `path` (an output shard) at `key`, streamed.
    public func write(file path: String, to key: String, contentType: String) async throws(Failure) {
        let sha: String
        do { sha = try SHA256Hex.of(file: path) } catch { throw Failure(description: "\(error)", missing: false, retryable: false) }
        try await write(.file(path: path), sha256: sha, to: key, contentType: contentType)
    }

    private func write(_ body: ClientRequest.Body, sha256: String, to key: String, contentType: String) async throws(Failure) {
        let uri = location.uri(of: key)
        switch location.store {
        case .s3(let bucket, let prefix):
            do {
                try await s3.get().put(S3Location(bucket: bucket, key: prefix + key), body: body, sha256: sha256, contentType: contentType)
            } catch {
                // (S3's message starts with the object's URI.)
                throw Failure(description: "cannot write to the output: \(error)", missing: false, retryable: error.isRetryable)
            }
        case .folder(let folder):
            do throws(FileError) {
                let path = folder + key
                switch body {
                case .bytes(let bytes):
                    try AtomicFile.write(bytes, to: path, mode: 0o644)
                case .file(let source):
                    try Self.copyFile(source, to: path)
                case .empty:
                    try AtomicFile.write([], to: path, mode: 0o644)
                }
            } catch {
                throw Failure(description: "cannot write \(uri) to the output: \(error)", missing: false, retryable: false)
            }
        }
    }

    /// The object at `key`, refused past `maxBytes`.
    public func read(_ key: String, maxBytes: Int) async throws(Failure) -> [UInt8] {
        let uri = location.uri(of: key)
        switch location.store {
        case .s3(let bucket, let prefix):
            do {
                return try await s3.get().get(S3Location(bucket: bucket, key: prefix + key), maxBytes: maxBytes)
            } catch {
                throw Failure(description: "\(error)", missing: error.status == 404, retryable: error.isRetryable)
            }
        case .folder(let folder):
            let path = folder + key
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else {
                throw Failure(description: "\(uri): no such file", missing: true, retryable: false)
            }
            let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
            guard size <= maxBytes else { throw Failure(description: "\(uri) is \(size) bytes, over the \(maxBytes)-byte limit", missing: false, retryable: false) }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw Failure(description: "\(uri): cannot read", missing: false, retryable: false)
            }
            return [UInt8](data)
        }
    }

    /// The object at `key` copied to `path` (written whole, atomically).
    public func copy(_ key: String, to path: String) async throws(Failure) {
        switch location.store {
        case .s3:
            _ = try await file(key, downloadingTo: path)
        case .folder(let folder):
            let source = folder + key
            guard FileManager.default.fileExists(atPath: source) else {
                throw Failure(description: "\(location.uri(of: key)): no such file", missing: true, retryable: false)
            }
            do throws(FileError) {
                try Self.copyFile(source, to: path)
            } catch {
                throw Failure(description: "\(error)", missing: false, retryable: false)
            }
        }
    }

    /// The object at `key` as a local file: a folder's file as it is; an S3 object streamed to `temporary`.
    public func file(_ key: String, downloadingTo temporary: String) async throws(Failure) -> String {
        switch location.store {
        case .s3(let bucket, let prefix):
            do {
                _ = try await s3.get().download(S3Location(bucket: bucket, key: prefix + key), to: temporary)
                return temporary
            } catch {
                throw Failure(description: "\(error)", missing: error.status == 404, retryable: error.isRetryable)
            }
        case .folder(let folder):
            guard FileManager.default.fileExists(atPath: folder + key) else {
                throw Failure(description: "\(location.uri(of: key)): no such file", missing: true, retryable: false)
            }
            return folder + key
        }
    }

    /// Copies a file to `path` whole: into a temporary beside it, synced, renamed into place.
    private static func copyFile(_ source: String, to path: String) throws(FileError) {
        try AtomicFile.createDirectories(AtomicFile.parentDirectory(of: path))
        let temporary = AtomicFile.temporaryPath(for: path)
        do { try FileManager.default.copyItem(atPath: source, toPath: temporary) } catch {
            unlink(temporary)
            throw FileError("copy \(source) to", temporary, reason: error.localizedDescription)
        }
        do { try AtomicFile.commit(temporary, to: path) } catch { unlink(temporary); throw error }
    }
}
