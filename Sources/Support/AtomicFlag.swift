import Synchronization

/// A flag set once from any thread: SIGTERM asking the worker to stop (it finishes the image it is on,
/// releases the rest of its task and exits), or the coordinator saying a lease is lost.
public final class AtomicFlag: Sendable {
    private let flag = Atomic(false)
    private let parent: AtomicFlag?

    /// With `parent`, the flag also reads as set once the parent is (a run's workers stop on Ctrl-C at once, and
    /// when the run ends).
    public init(following parent: AtomicFlag? = nil) { self.parent = parent }

    public var isSet: Bool { flag.load(ordering: .acquiring) || parent?.isSet == true }
    public func set() { flag.store(true, ordering: .releasing) }
}
