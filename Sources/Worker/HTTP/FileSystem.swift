#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

private func systemRename(_ source: String, _ destination: String) -> Int32 { rename(source, destination) }

/// The path-level file operations the downloader needs, with `CurlError.io` errors.
enum FileSystem {
    /// Size of a regular file, or nil when there is none.
    static func size(of path: String) -> Int64? {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(info.st_size)
    }

    static func remove(_ path: String) {
        _ = unlink(path)
    }

    /// Atomically replaces `destination` with `source`, then syncs the directory so the new name
    /// survives a crash.
    static func rename(_ source: String, to destination: String) throws(CurlError) {
        guard systemRename(source, destination) == 0 else { throw .posix("rename to \(destination)", source) }
        let directory = parentDirectory(of: destination)
        let fd = open(directory, O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            _ = fsync(fd)
            _ = close(fd)
        }
    }

    /// Creates `path` and its missing parents.
    static func createDirectories(_ path: String) throws(CurlError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0 && errno != EEXIST { throw .posix("mkdir", current) }
        }
    }

    static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
