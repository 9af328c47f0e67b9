#if canImport(Glibc)
import Glibc
#endif

/// Directories made with their missing parents, failing with the path and the system's reason (Foundation's
/// error here reads "The operation could not be completed").
public enum Directory {
    /// Creates `path` and its missing parents; new ones get `permissions` less the umask. An existing directory is
    /// fine; a file in the way is an error that names it.
    public static func make(_ path: String, permissions: mode_t = 0o777) throws(FileError) {
        var info = stat()
        if stat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFDIR else { throw FileError("creating directory", path, reason: "a file of that name is in the way") }
            return
        }
        let parent = AtomicFile.parentDirectory(of: path)
        if parent != path && parent != "." && parent != "/" { try make(parent) }
        if mkdir(path, permissions) != 0 && errno != EEXIST { throw FileError.system("creating directory", path) }
    }
}
