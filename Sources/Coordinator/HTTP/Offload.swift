import Dispatch

/// Runs blocking work (SQLite statements, file I/O, model loading) on dedicated threads instead of Swift's
/// cooperative pool, and resumes the caller when it is done.
enum Offload {
    private static let queue = DispatchQueue(label: "labelmill.coordinator.blocking", qos: .userInitiated, attributes: .concurrent)
    /// The hot path (claim, heartbeat, complete, uploads): each call is one short write transaction, and SQLite
    /// takes one writer at a time anyway. One thread running them back to back beats dozens of threads queueing
    /// on the writer lock (measured with `bench coordinator`: see the closing note of the runner issue).
    private static let leases = DispatchQueue(label: "labelmill.coordinator.leases", qos: .userInitiated)

    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await run(on: queue, body)
    }

    static func lease<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await run(on: leases, body)
    }

    private static func run<T: Sendable>(on queue: DispatchQueue, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}
