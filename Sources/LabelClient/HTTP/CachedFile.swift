import Support
#if canImport(Glibc)
import Glibc
#endif

/// A downloaded file that may be used again (a shared model cache, a resumed `model fetch`), checked before it
/// is: its size always, its SHA-256 unless a stamp written when it was last verified still describes it (same
/// digest, size, inode and modification time). Anything else is treated as corrupt: deleted, never used.
///
/// The stamp lives next to the file as `.<name>.verified`; a file edited, truncated, appended to or replaced
/// since then no longer matches it and is hashed again.
struct CachedFile {
    enum Check: Equatable {
        case missing
        case valid(size: Int64, sha256: String)
        /// Present but not what was expected; the reason says how.
        case invalid(String)
    }

    let path: String

    var stampPath: String {
        let directory = AtomicFile.parentDirectory(of: path)
        let name = path.split(separator: "/").last.map(String.init) ?? path
        return "\(directory)/.\(name).verified"
    }

    /// Whether the file at `path` is the expected one. With neither a size nor a digest to check it against, an
    /// existing file counts as missing (the caller fetches it again).
    func check(size expectedSize: Int64?, sha256 expectedSHA256: String?, stamp: Bool) throws(CurlError) -> Check {
        guard let info = status() else { return .missing }
        guard (info.st_mode & S_IFMT) == S_IFREG else { return .invalid("\(path) is not a regular file") }
        let size = Int64(info.st_size)
        if let expectedSize, size != expectedSize {
            return .invalid("\(path) has \(size) bytes, expected \(expectedSize)")
        }
        guard let expectedSHA256 else {
            guard expectedSize != nil else { return .missing }
            return .valid(size: size, sha256: try CurlError.file { () throws(FileError) in try SHA256Hex.of(file: path) })
        }
        if readStamp() == stampLine(sha256: expectedSHA256, info) { return .valid(size: size, sha256: expectedSHA256) }
        let actual = try CurlError.file { () throws(FileError) in try SHA256Hex.of(file: path) }
        guard actual == expectedSHA256 else { return .invalid("\(path) has SHA-256 \(actual), expected \(expectedSHA256)") }
        if stamp { self.stamp(sha256: actual) }
        return .valid(size: size, sha256: actual)
    }

    /// Size and SHA-256 of the file as it is on disk.
    func measure() throws(FileError) -> (size: Int64, sha256: String) {
        let sha256 = try SHA256Hex.of(file: path)
        guard let info = status() else { throw FileError("stat", path, reason: "vanished while being read") }
        return (Int64(info.st_size), sha256)
    }

    /// Records that the file as it is now has digest `sha256` (best effort: without a stamp it is hashed again).
    func stamp(sha256: String) {
        guard let info = status() else { return }
        try? AtomicFile.write(Array(stampLine(sha256: sha256, info).utf8), to: stampPath)
    }

    /// Deletes the file and its stamp.
    func remove() {
        unlink(stampPath)
        unlink(path)
    }

    private func status() -> stat? {
        var info = stat()
        return stat(path, &info) == 0 ? info : nil
    }

    private func stampLine(sha256: String, _ info: stat) -> String {
        "\(sha256) \(info.st_size) \(info.st_dev) \(info.st_ino) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)\n"
    }

    private func readStamp() -> String? {
        let fd = open(stampPath, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = read(fd, &buffer, buffer.count)
        return n > 0 ? String(decoding: buffer[..<n], as: UTF8.self) : nil
    }
}

extension CurlError {
    /// Runs a file operation, reporting its failure as this subsystem's `.io` error.
    public static func file<T>(_ body: () throws(FileError) -> T) throws(CurlError) -> T {
        do { return try body() } catch { throw CurlError(.io, error.description) }
    }
}
