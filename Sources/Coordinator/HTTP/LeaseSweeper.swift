import Logging
import ServiceLifecycle
import LabelAPI

/// Returns expired leases to the queue (or dead-letters them) on a timer, so claims never scan for them.
struct LeaseSweeper: Service {
    let store: Store
    let interval: Duration
    let logger: Logger
    /// Called with the number of tasks that expired leases put back in the queue (or ended).
    let onReturned: @Sendable (Int) -> Void

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while true {
                    try await Task.sleep(for: interval)
                    do {
                        let moved = try await store.write("sweeping expired leases") { db in try store.sweepExpired(db) }
                        if moved > 0 {
                            onReturned(moved)
                            logger.info("leases.expired", metadata: ["tasks.count": "\(moved)"])
                        }
                    } catch {
                        // Stopping (shutdown cancels the wait for the store): not a failure to report.
                        if Task.isCancelled { return }
                        logger.error("leases.sweep.failed", metadata: ["error": "\(error)"])
                    }
                }
            }
        } catch is CancellationError {
            return
        }
    }
}
