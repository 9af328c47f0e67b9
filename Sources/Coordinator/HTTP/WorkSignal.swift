import Foundation

/// Wakes long-polling claims when work may have become claimable (a job's embeddings are ready, a lease was
/// released or expired, failed images were retried), so idle workers cost nothing while they wait instead of
/// each re-running the claim every few milliseconds. Waits also end on a timeout, which covers any other way
/// work appears.
final class WorkSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    /// Waits whose continuation is not registered yet, and those of them that timed out meanwhile.
    private var unregistered: Set<Int> = []
    private var timedOut: Set<Int> = []
    private var nextId = 0

    /// Wakes every current waiter.
    func notify() {
        let woken = lock.withLock {
            defer { waiters.removeAll() }
            return waiters.values
        }
        woken.forEach { $0.resume() }
    }

    /// Returns on `notify()` or after `timeout`, whichever is first.
    func wait(timeout: Duration) async {
        let id = lock.withLock {
            nextId += 1
            unregistered.insert(nextId)
            return nextId
        }
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await withCheckedContinuation { self.register(id, $0) }
                return true
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            if await group.next() == false { timeOut(id) }
            group.cancelAll()
        }
    }

    private func register(_ id: Int, _ continuation: CheckedContinuation<Void, Never>) {
        let late = lock.withLock {
            unregistered.remove(id)
            if timedOut.remove(id) != nil { return true }
            waiters[id] = continuation
            return false
        }
        if late { continuation.resume() }
    }

    private func timeOut(_ id: Int) {
        let waiter = lock.withLock { () -> CheckedContinuation<Void, Never>? in
            if let waiter = waiters.removeValue(forKey: id) { return waiter }
            if unregistered.contains(id) { timedOut.insert(id) }
            return nil  // notified meanwhile
        }
        waiter?.resume()
    }
}
