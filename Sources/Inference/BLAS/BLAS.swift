import COneDNN
import COpenBLAS
import Foundation
import Logging

/// The matrix products: oneDNN where it is installed (faster single-precision GEMM on AVX-512, and bf16), else
/// OpenBLAS, loaded once per process with the kernel chosen by `BLASKernelPolicy`. `LABELMILL_GEMM=openblas`
/// keeps OpenBLAS even where oneDNN is installed.
public enum BLAS {
    /// What runs: for log lines, `bench` output and tests.
    public struct Info: Sendable, Codable, CustomStringConvertible {
        public let kernel: String
        /// The kernel OpenBLAS picked on its own, when labelmill replaced it.
        public let replaced: String?
        public let library: String
        public let threads: Int
        /// oneDNN's version when it runs the single-precision products; nil when OpenBLAS does.
        public let oneDNN: String?

        public var engine: String { oneDNN == nil ? "OpenBLAS" : "oneDNN" }

        public var description: String {
            var text = oneDNN.map { "oneDNN \($0) GEMM, " } ?? ""
            text += "OpenBLAS \(library), kernel \(kernel), \(threads) threads"
            if let replaced { text += " (replaced the generic \(replaced) kernel; LABELMILL_BLAS_CORETYPE=keep keeps it)" }
            return text
        }
    }

    /// Loads the library on first use. A machine without OpenBLAS cannot run inference at all, so that is fatal
    /// with a message that says what to install.
    public static let info: Info = {
        do {
            return try load(environment: ProcessInfo.processInfo.environment)
        } catch {
            fatalError("\(error)")
        }
    }()

    public static let cpuHasAVX2 = lm_cpu_has_avx2_fma() != 0
    public static let cpuHasAVX512 = lm_cpu_has_avx512() != 0

    static func load(environment: [String: String]) throws -> Info {
        let policy = BLASKernelPolicy(
            override: .init(environmentValue: environment["LABELMILL_BLAS_CORETYPE"]),
            cpuHasAVX512: cpuHasAVX512, cpuHasAVX2: cpuHasAVX2)
        if let forced = policy.forcedBeforeLoad { setenv("OPENBLAS_CORETYPE", forced, 1) }
        try loadLibrary()
        let detected = String(cString: lm_blas_corename())
        var replaced: String?
        if case .reload(let kernel) = policy.decide(detected: detected) {
            if lm_blas_unload() == 0 {
                setenv("OPENBLAS_CORETYPE", kernel, 1)
                try loadLibrary()
                replaced = detected
            } else {
                try loadLibrary()
                logger.warning("blas.reload.failed", metadata: ["blas.kernel": "\(detected)"])
            }
        }
        ComputeThreads.apply()
        var oneDNN: String?
        if environment["LABELMILL_GEMM"]?.lowercased() != "openblas", OneDNN.isLoaded {
            oneDNN = OneDNN.version
            useOneDNN = true
        }
        let info = Info(
            kernel: String(cString: lm_blas_corename()), replaced: replaced,
            library: String(cString: lm_blas_path()), threads: ComputeThreads.count, oneDNN: oneDNN)
        logger.info("blas.ready", metadata: ["blas.engine": "\(info.engine)", "blas.kernel": "\(info.kernel)",
                                             "blas.replaced": "\(replaced ?? "no")", "blas.threads": "\(info.threads)"])
        return info
    }

    /// Set once, while `info` loads; read by every product after that.
    nonisolated(unsafe) private static var useOneDNN = false

    private static func loadLibrary() throws {
        var message = [CChar](repeating: 0, count: 512)
        if lm_blas_load(&message, message.count) != 0 {
            let text = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw InferenceError(.badModel, "\(text); install OpenBLAS (Debian: apt-get install libopenblas0)")
        }
    }

    private static let logger = Logger(label: "labelmill.blas")

    /// Whether products may be called from several threads at once, each then running on its caller's thread
    /// alone (`serial`): oneDNN's can; OpenBLAS's run on its own pool of threads, one product at a time.
    static var takesConcurrentCalls: Bool {
        _ = info
        return useOneDNN
    }

    /// Row-major C = alpha·op(A)·op(B) + beta·C, where op(A) is [m, k] and op(B) is [k, n]. `serial` runs it on
    /// the calling thread only (where `takesConcurrentCalls`).
    @inline(__always)
    static func sgemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, serial: Bool = false
    ) {
        _ = info
        if useOneDNN {
            let status = lm_dnnl_sgemm(transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda),
                                       b, Int32(ldb), beta, c, Int32(ldc), serial ? 1 : 0)
            precondition(status == 0, "oneDNN sgemm failed with status \(status) (m \(m), n \(n), k \(k))")
        } else {
            lm_sgemm(transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb),
                     beta, c, Int32(ldc))
        }
    }
}
