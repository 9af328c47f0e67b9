import Foundation
import GRDB
import LabelAPI

/// The one error type of the Store subsystem.
///
/// Callers decide on `code` (the HTTP layer maps it to a status; workers decide whether to keep a lease), never on
/// `message`, which is for people: it says what went wrong and where (a manifest line, a task id, a file name).
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable, CaseIterable {
        /// The job, task, image, model or blob does not exist.
        case notFound
        /// The lease token is not the task's current one, the lease expired (swept or not), or it was taken over.
        /// The worker must drop the task: someone else owns it now.
        case staleLease
        /// The request contradicts what is stored: an idempotency key reused with different content, an illegal state
        /// transition, a different label for an image that is already done.
        case conflict
        /// The input is malformed (a manifest line, an unsafe id, a missing blob); the message names the culprit.
        case invalid
        /// The database or the file system failed.
        case io
    }

    public var code: Code
    public var message: String
    /// The underlying error, if any (a `DatabaseError`, a file system error).
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    /// The message alone (it names the cause's kind, e.g. "database error SQLITE_FULL").
    public var description: String { message }

    static func notFound(_ message: String) -> StoreError { StoreError(.notFound, message) }
    static func staleLease(_ message: String) -> StoreError { StoreError(.staleLease, message) }
    static func conflict(_ message: String) -> StoreError { StoreError(.conflict, message) }
    static func invalid(_ message: String) -> StoreError { StoreError(.invalid, message) }

    /// A failure that may pass if the request is tried again (a full disk, a busy or failing database file), as
    /// opposed to one in the request itself.
    public var isTransient: Bool {
        guard code == .io else { return false }
        guard let cause = cause as? DatabaseError else { return true }
        return [.SQLITE_FULL, .SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_IOERR, .SQLITE_CANTOPEN].contains(cause.resultCode.primaryResultCode)
    }

    /// Wraps any error thrown below the Store: `StoreError` passes through, SQLite constraint violations become
    /// `conflict` (the Store validates first, so they mean a race or a bug), everything else `io`.
    static func wrap(_ error: any Error, _ context: @autoclosure () -> String) -> StoreError {
        if let error = error as? StoreError { return error }
        if let error = error as? DatabaseError {
            if error.resultCode == .SQLITE_CONSTRAINT {
                return StoreError(.conflict, "\(context()): constraint violated", cause: error)
            }
            return StoreError(.io, "\(context()): database error \(error.resultCode)", cause: error)
        }
        return StoreError(.io, "\(context()): \(error)", cause: error)
    }
}
