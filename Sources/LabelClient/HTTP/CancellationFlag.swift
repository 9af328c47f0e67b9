import Synchronization

/// Set by a task's cancellation handler, read by the transfer thread's progress callback, which
/// then aborts the transfer. The only shared mutable state between the two sides.
final class CancellationFlag: Sendable {
    private let cancelled = Atomic(false)

    var isCancelled: Bool { cancelled.load(ordering: .acquiring) }

    func cancel() { cancelled.store(true, ordering: .releasing) }
}
