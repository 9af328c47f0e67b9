import Logging
import ServiceLifecycle

/// Returns expired leases to the queue (or dead-letters them) on a timer, so claims never scan for them.
struct LeaseSweeper: Service {
    let store: Store
    let interval: Duration
    let logger: Logger
    /// Called when expired leases put tasks back in the queue.
    let onReturned: @Sendable () -> Void

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while true {
                    try await Task.sleep(for: interval)
                    do {
                        let moved = try await Offload.run { try store.sweepExpired() }
                        if moved > 0 {
                            onReturned()
                            logger.info("leases.expired", metadata: ["tasks.count": "\(moved)"])
                        }
                    } catch {
                        logger.error("leases.sweep.failed", metadata: ["error": "\(error)"])
                    }
                }
            }
        } catch is CancellationError {
            return
        }
    }
}
