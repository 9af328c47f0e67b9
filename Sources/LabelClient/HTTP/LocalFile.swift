import Support
#if canImport(Glibc)
import Glibc
#endif

// File-scope shims: inside LocalFile the names open/write/close mean its own methods.
private func systemOpen(_ path: String, _ flags: Int32) -> Int32 { open(path, flags, 0o644) }
private func systemClose(_ fd: Int32) { _ = close(fd) }

/// Owns one open file descriptor (closed on deinit). Plain POSIX so that downloads can append,
/// truncate, fsync and rename exactly as the resume logic needs. Errors are `CurlError.io`.
final class LocalFile {
    let path: String
    private var fd: Int32

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    deinit { close() }

    static func openForReading(_ path: String) throws(CurlError) -> LocalFile {
        try openFile(path, flags: O_RDONLY)
    }

    /// Opens for appending (and reading back), creating the file when missing.
    static func openForAppending(_ path: String) throws(CurlError) -> LocalFile {
        try openFile(path, flags: O_RDWR | O_CREAT | O_APPEND)
    }

    private static func openFile(_ path: String, flags: Int32) throws(CurlError) -> LocalFile {
        let fd = systemOpen(path, flags | O_CLOEXEC)
        guard fd >= 0 else { throw .posix("open", path) }
        return LocalFile(path: path, fd: fd)
    }

    func size() throws(CurlError) -> Int64 {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .posix("fstat", path) }
        return Int64(info.st_size)
    }

    /// Empties the file; later appends start at offset 0.
    func truncate() throws(CurlError) {
        guard ftruncate(fd, 0) == 0 else { throw .posix("ftruncate", path) }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws(CurlError) {
        try CurlError.file { () throws(FileError) in try writeFully(fd, bytes, path: path) }
    }

    /// Reads up to `buffer.count` bytes at `offset`; 0 means end of file.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(CurlError) -> Int {
        while true {
            let n = pread(fd, buffer.baseAddress, buffer.count, off_t(offset))
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw .posix("read", path) }
            return n
        }
    }

    func sync() throws(CurlError) {
        guard fsync(fd) == 0 else { throw .posix("fsync", path) }
    }

    func close() {
        if fd >= 0 { systemClose(fd) }
        fd = -1
    }
}

extension CurlError {
    static func posix(_ operation: String, _ path: String) -> CurlError {
        let reason = String(cString: strerror(errno))
        return CurlError(.io, "\(operation) \(path): \(reason)")
    }
}
