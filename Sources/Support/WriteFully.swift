#if canImport(Glibc)
import Glibc
#endif

/// Writes all of `bytes` to `fd` (`path` names it in errors), continuing after short writes and EINTR.
public func writeFully(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(FileError) {
    var offset = 0
    while offset < bytes.count {
        let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { throw .system("write", path) }
        offset += n
    }
}
