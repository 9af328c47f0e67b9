import Foundation

/// A file written a piece at a time through a 1 MiB buffer (JSON arrays, split files, listed manifests), created
/// empty or truncated with `mode`.
public final class StreamFile {
    public let path: String
    private let handle: FileHandle
    private var buffer = Data()

    public init(_ path: String, mode: mode_t = 0o666) throws {
        self.path = path
        try AtomicFile.createDirectories(AtomicFile.parentDirectory(of: path))
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw FileError.system("create", path) }
        handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
    }

    public func write(_ text: String) throws { try write(Array(text.utf8)) }

    public func write(_ bytes: [UInt8]) throws {
        if buffer.count + bytes.count > 1 << 20 { try flush() }
        if bytes.count >= 1 << 20 { try handle.write(contentsOf: bytes) } else { buffer.append(contentsOf: bytes) }
    }

    /// Appends the whole file at `path`, a MiB at a time.
    public func append(contentsOf path: String) throws {
        try flush()
        guard let source = FileHandle(forReadingAtPath: path) else { throw FileError("read", path, reason: "cannot open") }
        defer { try? source.close() }
        while let chunk = try source.read(upToCount: 1 << 20), !chunk.isEmpty { try handle.write(contentsOf: chunk) }
    }

    public func flush() throws {
        guard !buffer.isEmpty else { return }
        try handle.write(contentsOf: buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    public func close() throws {
        try flush()
        try handle.synchronize()
        try handle.close()
    }
}
