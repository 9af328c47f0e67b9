import Dispatch
import Foundation

/// Splits row-wise work over the process's compute threads. Element-wise kernels run between GEMMs, where the
/// BLAS's own threads are idle, so using every one of them here does not fight the BLAS.
enum Parallel {
    static var workers: Int { ComputeThreads.count }

    /// Calls `body` with disjoint ranges covering 0..<count, on up to `workers` threads.
    /// Small jobs (fewer than `grain` items) run on the calling thread.
    static func forEachChunk(_ count: Int, grain: Int = 16, _ body: (Range<Int>) -> Void) {
        let chunks = min(workers, max(1, count / max(grain, 1)))
        if chunks <= 1 {
            body(0..<count)
            return
        }
        withoutActuallyEscaping(body) { escapable in
            // The chunks are disjoint and concurrentPerform returns only when all are done, so handing the
            // caller's non-Sendable closure to the worker threads is safe.
            let work = UncheckedSendable(escapable)
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                work.value(count * c / chunks..<count * (c + 1) / chunks)
            }
        }
    }
}

struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
