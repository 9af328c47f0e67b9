import Foundation

/// Set by a task's cancellation handler, read by the transfer thread's progress callback, which
/// then aborts the transfer. The only shared mutable state between the two sides.
final class CancellationFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false

    var isCancelled: Bool {
        lock.lock()
        defer { lock.unlock() }
        return cancelled
    }

    func cancel() {
        lock.lock()
        cancelled = true
        lock.unlock()
    }
}
