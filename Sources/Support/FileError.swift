#if canImport(Glibc)
import Glibc
#endif

/// The error of the file helpers: which operation failed on which path, and the system's reason.
public struct FileError: Error, Sendable, CustomStringConvertible, Equatable {
    public var operation: String
    public var path: String
    public var reason: String
    /// errno when the failure came from the system (ENOSPC, EACCES, ...).
    public var errno: Int32?

    public init(_ operation: String, _ path: String, reason: String, errno: Int32? = nil) {
        self.operation = operation
        self.path = path
        self.reason = reason
        self.errno = errno
    }

    /// The failure the last system call left in `errno`.
    public static func system(_ operation: String, _ path: String) -> FileError {
        let code = Glibc.errno
        return FileError(operation, path, reason: String(cString: strerror(code)), errno: code)
    }

    public var description: String { "\(operation) \(path): \(reason)" }
}
