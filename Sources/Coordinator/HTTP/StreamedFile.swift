import Foundation
import Hummingbird
import NIOCore
import Support
import Synchronization
import LabelAPI

/// A request body streamed into a file without holding it in memory: chunks are written on the blocking-I/O
/// pool into a temporary file next to `path`, which becomes `path` (fsynced with its directory) only when the
/// whole body arrived within `limit` bytes and `verify` accepts it. Anything else leaves no file behind.
enum StreamedFile {
    /// Returns the number of bytes stored. `inspect` sees every chunk on the way (to hash it); `verify` gets the
    /// size once the body has ended and throws to refuse the file.
    static func receive(
        _ body: RequestBody, to path: String, limit: Int64, what: String,
        inspect: (ByteBuffer) -> Void = { _ in }, verify: (Int64) throws -> Void = { _ in }
    ) async throws -> Int64 {
        let temporary = AtomicFile.temporaryPath(for: path)
        let file = try await BlockingIO.run { try OpenFile(creating: temporary) }
        var size: Int64 = 0
        do {
            for try await buffer in body {
                size += Int64(buffer.readableBytes)
                guard size <= limit else { throw CoordinatorError(.tooLarge, "\(what) bodies are limited to \(limit) bytes") }
                inspect(buffer)
                try await BlockingIO.run { try file.write(buffer) }
            }
            try verify(size)
            try await BlockingIO.run {
                file.close()
                try AtomicFile.commit(temporary, to: path)
            }
            return size
        } catch {
            try? await BlockingIO.run {
                file.close()
                unlink(temporary)
            }
            if let error = error as? CoordinatorError { throw error }
            if let error = error as? FileError { throw CoordinatorError(error.errno == ENOSPC ? .unavailable : .internalError, "storing the \(what): \(error)") }
            throw CoordinatorError(.badRequest, "\(what) upload failed: \(error)")
        }
    }
}

/// A file descriptor opened for writing, used from one request at a time.
private final class OpenFile: Sendable {
    let path: String
    private let fd: Int32
    private let open = Atomic(true)

    init(creating path: String) throws {
        try AtomicFile.createDirectories(AtomicFile.parentDirectory(of: path))
        let fd = Glibc.open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileError("create", path, reason: String(cString: strerror(errno)), errno: errno) }
        self.path = path
        self.fd = fd
    }

    func write(_ buffer: ByteBuffer) throws {
        try buffer.withUnsafeReadableBytes { raw in try writeFully(fd, raw, path: path) }
    }

    func close() {
        if open.exchange(false, ordering: .relaxed) { Glibc.close(fd) }
    }
}
