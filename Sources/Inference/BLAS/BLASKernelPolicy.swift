/// Which OpenBLAS kernel labelmill wants, decided from what the library picked by itself and what the CPU can do.
///
/// Debian's OpenBLAS 0.3.21 does not know recent CPUs and then runs its generic `Prescott` kernel, about six
/// times slower than `SkylakeX` on a machine with AVX-512. The policy is pure so it can be tested without
/// loading anything; `BLAS` applies it.
public struct BLASKernelPolicy: Sendable, Equatable {
    /// `LABELMILL_BLAS_CORETYPE`: `auto` (default) fixes a generic kernel, `keep` never interferes, and any
    /// other value is an OpenBLAS core name to force (`SkylakeX`, `Haswell`, `Zen`, ...).
    public enum Override: Sendable, Equatable {
        case auto
        case keep
        case force(String)

        public init(environmentValue: String?) {
            switch environmentValue?.trimmingCharacters(in: .whitespaces).lowercased() {
            case nil, "", "auto": self = .auto
            case "keep": self = .keep
            default: self = .force(environmentValue!.trimmingCharacters(in: .whitespaces))
            }
        }
    }

    public enum Decision: Sendable, Equatable {
        /// Keep the kernel the library chose.
        case keep
        /// Reload the library with `OPENBLAS_CORETYPE` set to this kernel.
        case reload(String)
    }

    /// Kernels with AVX2 or AVX-512 single-precision GEMM; everything else OpenBLAS can pick is generic.
    static let vectorKernels: Set<String> = ["haswell", "zen", "skylakex", "cooperlake", "sapphirerapids"]

    public var override: Override
    public var cpuHasAVX512: Bool
    public var cpuHasAVX2: Bool

    public init(override: Override, cpuHasAVX512: Bool, cpuHasAVX2: Bool) {
        self.override = override
        self.cpuHasAVX512 = cpuHasAVX512
        self.cpuHasAVX2 = cpuHasAVX2
    }

    /// The kernel to force before the first load, if the user asked for one.
    public var forcedBeforeLoad: String? {
        if case .force(let name) = override { return name }
        return nil
    }

    /// What to do once the library has picked `detected`.
    public func decide(detected: String) -> Decision {
        guard case .auto = override, !Self.isVectorKernel(detected) else { return .keep }
        if cpuHasAVX512 { return .reload("SkylakeX") }
        if cpuHasAVX2 { return .reload("Haswell") }
        return .keep
    }

    public static func isVectorKernel(_ name: String) -> Bool {
        vectorKernels.contains(name.lowercased())
    }
}
