#if canImport(Glibc)
import Glibc
#endif

/// Files published whole or not at all, with one durability policy: the bytes go to a temporary file next to the
/// destination (a name no other process or call uses), the file is fsynced, renamed onto the destination, and the
/// directory is fsynced so the new name survives a crash. Readers see the old file or the new one, never a torn one.
public enum AtomicFile {
    /// A fresh temporary path in `destination`'s directory: `.<name>.<pid>.<random>.tmp`, unique to this process
    /// and call, so processes that share a directory never write into each other's files.
    public static func temporaryPath(for destination: String) -> String {
        let directory = parentDirectory(of: destination)
        let name = destination.split(separator: "/").last.map(String.init) ?? "file"
        let random = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        return "\(directory)/.\(name).\(getpid()).\(random).tmp"
    }

    /// Writes `bytes` to `path` atomically and durably; `mode` is filtered by the umask as usual. With `durable`
    /// false the file and its directory are not fsynced: still never torn under its name while the machine runs,
    /// for writers of many small files that call `syncEverything()` once after the last.
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o666, durable: Bool = true) throws(FileError) {
        try createDirectories(parentDirectory(of: path))
        let temporary = temporaryPath(for: path)
        let fd = open(temporary, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode)
        guard fd >= 0 else { throw .system("create", temporary) }
        var failure: FileError?
        bytes.withUnsafeBytes { raw in
            do throws(FileError) { try writeFully(fd, raw, path: temporary) } catch { failure = error }
        }
        if durable, failure == nil, fsync(fd) != 0 { failure = .system("fsync", temporary) }
        close(fd)
        if let failure {
            unlink(temporary)
            throw failure
        }
        do {
            try publish(temporary, to: path, durable: durable)
        } catch {
            unlink(temporary)
            throw error
        }
    }

    /// Makes a complete temporary file the destination: fsync the file, rename it onto `destination`, fsync the
    /// directory. The temporary file must be in the destination's directory (see `temporaryPath(for:)`).
    public static func commit(_ temporary: String, to destination: String) throws(FileError) {
        let fd = open(temporary, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .system("open", temporary) }
        let synced = fsync(fd) == 0
        let failure: FileError? = synced ? nil : .system("fsync", temporary)
        close(fd)
        if let failure { throw failure }
        try publish(temporary, to: destination)
    }

    /// Renames `temporary` onto `destination`; with `durable`, fsyncs the directory so the new name survives a crash.
    private static func publish(_ temporary: String, to destination: String, durable: Bool = true) throws(FileError) {
        guard rename(temporary, destination) == 0 else { throw .system("rename \(temporary) to", destination) }
        if durable { try syncDirectory(parentDirectory(of: destination)) }
    }

    /// Makes every file written so far durable: sync(2), which on Linux returns once the data is on disk (Swift's
    /// Glibc module does not offer syncfs(2), which would limit it to one file system).
    public static func syncEverything() {
        sync()
    }

    /// fsync of a directory, so the names created or renamed in it are durable.
    public static func syncDirectory(_ directory: String) throws(FileError) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .system("open", directory) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .system("fsync", directory) }
    }

    /// Creates `path` and its missing parents, each new one with `mode` filtered by the umask. A file where a
    /// directory should be is named as such (Foundation's error for it reads "The operation could not be completed").
    public static func createDirectories(_ path: String, mode: mode_t = 0o777) throws(FileError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            let parent = current
            current += "/" + component
            if mkdir(current, mode) == 0 || errno == EEXIST { continue }
            if errno == ENOTDIR { throw FileError("mkdir", parent, reason: "a file of that name is in the way") }
            throw .system("mkdir", current)
        }
    }

    public static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
