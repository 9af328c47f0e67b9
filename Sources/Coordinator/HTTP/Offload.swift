import Dispatch

/// Runs blocking work (SQLite statements, file I/O, model loading) on dedicated threads instead of Swift's
/// cooperative pool, and resumes the caller when it is done.
enum Offload {
    private static let queue = DispatchQueue(label: "labelmill.coordinator.blocking", qos: .userInitiated, attributes: .concurrent)

    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}
