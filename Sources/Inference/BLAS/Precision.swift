import COneDNN
import Foundation
import LabelAPI

/// Which number format runs on this machine (LabelAPI's `Precision` names them, docs/PRECISION.md).
extension Precision {
    /// What runs on this machine for this request, and why.
    public struct Choice: Sendable, CustomStringConvertible {
        public let requested: Precision
        /// fp32 or bf16.
        public let runs: Precision
        public let reason: String

        public var description: String { "\(runs.rawValue) (asked \(requested.rawValue): \(reason))" }
    }

    public func resolve() -> Choice {
        Self.resolve(self, support: OneDNN.bf16Support, oneDNNLoaded: OneDNN.isLoaded, speedRatio: { Self.bf16SpeedRatio })
    }

    /// The rule, apart from the machine: `speedRatio` is bf16's multiply-add rate over fp32's on this core (only
    /// read for `auto` on a CPU without AMX, where it decides).
    package static func resolve(_ requested: Precision, support: OneDNN.BF16Support, oneDNNLoaded: Bool,
                        speedRatio: () -> Double) -> Choice {
        func choice(_ runs: Precision, _ reason: String) -> Choice { Choice(requested: requested, runs: runs, reason: reason) }
        let missing = !oneDNNLoaded ? "oneDNN (libdnnl2) is not installed"
            : "this CPU has neither AVX512-BF16 nor AMX"
        switch (requested, support) {
        case (.fp32, _):
            return choice(.fp32, "as asked")
        case (.bf16, .none), (.auto, .none):
            return choice(.fp32, missing)
        case (.bf16, .amx), (.auto, .amx):
            return choice(.bf16, "AMX bf16 tiles")
        case (.bf16, .avx512):
            return choice(.bf16, "AVX512-BF16 dot products")
        case (.auto, .avx512):
            let ratio = speedRatio()
            let rate = String(format: "bf16 dot products do %.2f× the multiply-adds per second of fp32 FMAs on this CPU", ratio)
            return ratio >= Self.autoThreshold ? choice(.bf16, rate) : choice(.fp32, rate)
        }
    }

    /// bf16 must beat fp32 by this much for `auto` to take it: converting the activations and the extra rounding
    /// are not free.
    static let autoThreshold = 1.25

    /// Timed once per process (about 10 ms).
    static let bf16SpeedRatio: Double = lm_cpu_bf16_fma_ratio()

    /// x rounded to bf16 (nearest, ties to even) and back, as the bf16 products see their inputs.
    package static func roundedToBF16(_ x: Float) -> Float { lm_bf16_round(x) }
}
