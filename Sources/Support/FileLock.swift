#if canImport(Glibc)
import Glibc
#endif

/// An exclusive lock that processes on one host share through a lock file (`flock`), for work that must happen
/// once however many processes want it at the same moment (a download into a shared cache). The kernel drops
/// the lock when its holder exits, even by SIGKILL, so a crashed holder never blocks the others.
///
/// The holder removes the lock file when it releases the lock. A process that was waiting on the removed file
/// notices (the path no longer names the inode it locked) and locks the path afresh, so two processes never
/// both believe they hold it.
public final class FileLock {
    public let path: String
    private var fd: Int32

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    deinit { release() }

    /// Takes the lock on `path` (created if missing), polling every 50 ms while another process holds it;
    /// gives up with `nil` when `isCancelled` turns true.
    public static func acquire(_ path: String, isCancelled: () -> Bool = { false }) throws(FileError) -> FileLock? {
        while true {
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o666)
            guard fd >= 0 else { throw .system("open", path) }
            while flock(fd, LOCK_EX | LOCK_NB) != 0 {
                guard errno == EWOULDBLOCK || errno == EINTR else {
                    let failure = FileError.system("flock", path)
                    close(fd)
                    throw failure
                }
                if isCancelled() {
                    close(fd)
                    return nil
                }
                usleep(50_000)
            }
            if refersToPath(fd, path) { return FileLock(path: path, fd: fd) }
            close(fd)  // the holder removed the file while we waited: lock the path's new file
        }
    }

    private static func refersToPath(_ fd: Int32, _ path: String) -> Bool {
        var locked = stat(), named = stat()
        guard fstat(fd, &locked) == 0, stat(path, &named) == 0 else { return false }
        return locked.st_dev == named.st_dev && locked.st_ino == named.st_ino
    }

    /// Removes the lock file and releases the lock (in that order: see the type's comment).
    public func release() {
        guard fd >= 0 else { return }
        unlink(path)
        flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }
}
