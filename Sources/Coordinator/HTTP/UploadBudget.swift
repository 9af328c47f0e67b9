import Synchronization

/// The memory that upload bodies (label maps, thumbnails, confidence maps) may hold at once. Each upload reserves
/// what it will read and decode before it reads a byte, and waits, holding nothing, while the budget is spent; so
/// thirty 63 MiB uploads on a 256 MiB budget pass four at a time instead of taking 2 GB at once. A reservation
/// larger than the whole budget is cut to the budget: it then runs alone. Waiters are served in arrival order.
final class UploadBudget: Sendable {
    let capacity: Int

    private struct State {
        var available: Int
        var waiters: [(bytes: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let state: Mutex<State>

    init(capacity: Int) {
        precondition(capacity > 0, "an upload budget must be positive")
        self.capacity = capacity
        state = Mutex(State(available: capacity))
    }

    /// Bytes not reserved now.
    var available: Int { state.withLock { $0.available } }

    /// Runs `body` with `bytes` reserved (at most `capacity`), returning them afterwards whatever it did.
    func withReservation<T>(_ bytes: Int, _ body: () async throws -> T) async throws -> T {
        let reserved = min(max(bytes, 0), capacity)
        await reserve(reserved)
        defer { release(reserved) }
        return try await body()
    }

    private func reserve(_ bytes: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = state.withLock { state in
                // First come, first served: nobody overtakes a waiter, or large uploads would starve.
                guard state.waiters.isEmpty, state.available >= bytes else {
                    state.waiters.append((bytes, continuation))
                    return false
                }
                state.available -= bytes
                return true
            }
            if granted { continuation.resume() }
        }
    }

    private func release(_ bytes: Int) {
        let woken = state.withLock { state in
            state.available += bytes
            var woken: [CheckedContinuation<Void, Never>] = []
            while let first = state.waiters.first, first.bytes <= state.available {
                state.available -= first.bytes
                woken.append(first.continuation)
                state.waiters.removeFirst()
            }
            return woken
        }
        woken.forEach { $0.resume() }
    }
}
