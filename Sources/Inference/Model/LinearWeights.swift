import COneDNN

// The copies of a linear layer's weight that `linear` uses instead of the one read from the model file (see
// `Tensor.withTransposedCopy` and `Tensor.withBF16`).

/// A linear layer's weight transposed, [in, out], owned. Sendable by hand: `storage` is written in `init` only and
/// read after, which the compiler cannot see of a raw pointer; threads share it as they share the model file's.
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

/// A linear layer's weight in bf16 (converted once, at load) for oneDNN's bf16 products. Sendable by hand: the C
/// weight is written once, by `lm_bf16_weight_create`, and only read by `lm_bf16_linear`, which keeps its shared
/// primitive cache under a mutex and a oneDNN stream per thread (Sources/COneDNN/onednn.c).
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
