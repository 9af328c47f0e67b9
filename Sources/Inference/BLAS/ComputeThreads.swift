import COneDNN
import COpenBLAS
import Synchronization

/// How many threads one process's inference uses, for the matrix products and the element-wise kernels alike:
/// the CPUs it may use (its affinity mask, e.g. systemd's CPUAffinity=, and its cgroup's CPU quota, e.g. a
/// container's CPU limit) unless told otherwise (`--threads`), so that several workers on one host divide its
/// cores instead of each starting a thread per core.
public enum ComputeThreads {
    private static let configured = Atomic<Int>(0)

    /// The CPUs this process may use.
    public static let available = Int(lm_cpus_available())

    /// The CPUs of this process's affinity mask, by number.
    public static let affinity: [Int] = {
        var mask = [UInt8](repeating: 0, count: 4096)
        guard lm_cpu_affinity(&mask, Int32(mask.count)) > 0 else { return Array(0..<available) }
        return mask.indices.filter { mask[$0] != 0 }
    }()

    /// Whether a cgroup CPU quota (a container's CPU limit), not the affinity mask, bounds `available`.
    public static var quotaBound: Bool {
        let quota = Int(lm_cpu_quota())
        return quota > 0 && quota < affinity.count
    }

    public static var count: Int {
        let n = configured.load(ordering: .relaxed)
        return n > 0 ? n : available
    }

    /// Sets the count (nil = the CPUs this process may use); takes effect for the next products.
    public static func set(_ threads: Int?) {
        configured.store(max(0, threads ?? 0), ordering: .relaxed)
        apply()
    }

    /// Hands the count to both libraries (either may not be loaded yet: it then takes the count when `BLAS` loads).
    static func apply() {
        lm_blas_set_threads(Int32(count))
        lm_dnnl_set_threads(Int32(count))
    }
}
