import COneDNN
import Foundation

/// The number format of the image encoder's matrix products (docs/PRECISION.md).
///
/// - `fp32`: everything in single precision.
/// - `bf16`: the linear layers' products take bf16 inputs (weights converted once at load, activations rounded as
///   they go in) and accumulate in fp32; attention, LayerNorm, softmax, GELU, the head and every reduction stay
///   fp32. Needs oneDNN and a CPU with bf16 matrix products (AVX512-BF16 or AMX); elsewhere fp32 runs.
/// - `auto`: bf16 where it is faster than fp32 on this CPU, else fp32.
public enum Precision: String, Sendable, Codable, CaseIterable {
    case fp32, bf16, auto

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
    static func resolve(_ requested: Precision, support: OneDNN.BF16Support, oneDNNLoaded: Bool,
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
    static func roundedToBF16(_ x: Float) -> Float { lm_bf16_round(x) }
}

/// A linear layer's weight transposed, [in, out], owned.
final class TransposedWeight: @unchecked Sendable {
    let storage: UnsafeMutablePointer<Float>
    var pointer: UnsafePointer<Float> { UnsafePointer(storage) }

    init(_ weight: Tensor) {
        let (rows, cols) = (weight.shape[0], weight.shape[1])
        storage = .allocate(capacity: rows * cols)
        for r in 0..<rows {
            for c in 0..<cols { storage[c * rows + r] = weight.pointer[r * cols + c] }
        }
    }

    deinit { storage.deallocate() }
}

/// A linear layer's weight in bf16 (converted once, at load) for oneDNN's bf16 products.
final class BF16Weight: @unchecked Sendable {
    let handle: OpaquePointer
    let outFeatures, inFeatures: Int

    init(_ weight: Tensor) {
        precondition(weight.shape.count == 2, "a bf16 weight is a matrix")
        (outFeatures, inFeatures) = (weight.shape[0], weight.shape[1])
        guard let handle = lm_bf16_weight_create(weight.pointer, Int32(outFeatures), Int32(inFeatures)) else {
            fatalError("out of memory converting a \(outFeatures)×\(inFeatures) weight to bf16")
        }
        self.handle = handle
    }

    deinit { lm_bf16_weight_free(handle) }

    /// y [rows, out] = x [rows, in] · Wᵀ (+ bias), bf16 products accumulated in fp32.
    func apply(_ x: UnsafePointer<Float>, rows: Int, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>) {
        let status = lm_bf16_linear(handle, x, Int32(rows), bias, y)
        precondition(status == 0, "oneDNN bf16 product failed with status \(status) (\(rows)×\(inFeatures) · \(inFeatures)×\(outFeatures))")
    }
}
