import COneDNN
import COpenBLAS
import Foundation
import Synchronization

/// How many threads one process's inference uses, for the matrix products and the element-wise kernels alike:
/// every core unless told fewer (`--threads`), so that several workers on one host divide its cores instead of
/// each starting a thread per core.
public enum ComputeThreads {
    private static let configured = Atomic<Int>(0)

    public static var count: Int {
        let n = configured.load(ordering: .relaxed)
        return n > 0 ? n : max(1, ProcessInfo.processInfo.activeProcessorCount)
    }

    /// Sets the count (nil = every core); takes effect for the next products.
    public static func set(_ threads: Int?) {
        configured.store(max(0, threads ?? 0), ordering: .relaxed)
        lm_blas_set_threads(Int32(count))
        lm_dnnl_set_threads(Int32(count))
    }
}
