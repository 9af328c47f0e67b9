import Synchronization
import LabelAPI

/// Wakes long-polling claims when work may have become claimable (a job's embeddings are ready, a lease was
/// released or expired, failed images were retried), so idle workers cost nothing while they wait. A signal
/// for n tasks wakes at most n waiters, the longest waiting first: a released task does not send a thousand
/// idle workers into the database at once. Waits also end on a timeout, which covers any other way work appears.
package final class WorkSignal: Sendable {
    private struct State {
        /// Registered waits in arrival order.
        var waiters: [(id: Int, continuation: CheckedContinuation<Bool, Never>)] = []
        /// Waits whose continuation is not registered yet, and those of them that ended meanwhile.
        var unregistered: Set<Int> = []
        var ended: [Int: Bool] = [:]
        var nextId = 0
    }

    private let state = Mutex(State())

    package init() {}

    /// Waits registered now.
    package var waiting: Int { state.withLock { $0.waiters.count } }

    /// Wakes the `count` longest-waiting waiters.
    package func notify(count: Int) {
        guard count > 0 else { return }
        let woken = state.withLock { state in
            let n = min(count, state.waiters.count)
            defer { state.waiters.removeFirst(n) }
            return state.waiters.prefix(n).map(\.continuation)
        }
        woken.forEach { $0.resume(returning: true) }
    }

    /// Wakes every waiter (the coordinator is shutting down).
    package func notifyAll() {
        let woken = state.withLock { state in
            defer { state.waiters.removeAll() }
            return state.waiters.map(\.continuation)
        }
        woken.forEach { $0.resume(returning: true) }
    }

    /// Returns true when woken by `notify`, false after `timeout`.
    package func wait(timeout: Duration) async -> Bool {
        let id = state.withLock { state in
            state.nextId += 1
            state.unregistered.insert(state.nextId)
            return state.nextId
        }
        return await withTaskGroup(of: Bool?.self) { group in
            group.addTask { await withCheckedContinuation { self.register(id, $0) } }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            if first == nil { timeOut(id) }
            group.cancelAll()
            // After a timeout the other child still ends (timeOut resumed its continuation), possibly with a
            // notification that came at the same moment: that one counts.
            let second = await group.next() ?? nil
            return first ?? second ?? false
        }
    }

    private func register(_ id: Int, _ continuation: CheckedContinuation<Bool, Never>) {
        let ended = state.withLock { state -> Bool? in
            state.unregistered.remove(id)
            if let ended = state.ended.removeValue(forKey: id) { return ended }
            state.waiters.append((id, continuation))
            return nil
        }
        if let ended { continuation.resume(returning: ended) }
    }

    private func timeOut(_ id: Int) {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            if let index = state.waiters.firstIndex(where: { $0.id == id }) { return state.waiters.remove(at: index).continuation }
            if state.unregistered.contains(id) { state.ended[id] = false }
            return nil  // notified meanwhile
        }
        waiter?.resume(returning: false)
    }
}
