/// Reads named tensors from a checkpoint, checking each one's presence and shape against the configuration,
/// so a wrong checkpoint fails on load with the tensor's name, its shape and the expected shape.
struct WeightReader {
    let file: SafeTensorsFile

    func callAsFunction(_ name: String, _ shape: [Int]) throws -> Tensor {
        guard let entry = file.entries[name] else {
            throw InferenceError(.badModel, "\(file.path): tensor \(name) is missing (expected shape \(shape))")
        }
        guard entry.shape == shape else {
            throw InferenceError(.badModel, "\(file.path): tensor \(name) has shape \(entry.shape), expected \(shape)")
        }
        return try file.floats(name)
    }
}

/// One pre-LN transformer block: the same tensor names in both towers.
package struct CLIPEncoderLayer: Sendable {
    // {prefix}.self_attn.{q,k,v,out}_proj.weight [D, D] and .bias [D]
    private(set) var qWeight, kWeight, vWeight, outWeight: Tensor
    let qBias, kBias, vBias, outBias: Tensor
    // {prefix}.layer_norm1 / layer_norm2 .{weight,bias} [D]
    let norm1Weight, norm1Bias, norm2Weight, norm2Bias: Tensor
    // {prefix}.mlp.fc1.weight [I, D], .bias [I]; {prefix}.mlp.fc2.weight [D, I], .bias [D]
    private(set) var fc1Weight, fc2Weight: Tensor
    let fc1Bias, fc2Bias: Tensor

    /// This block with fc2's weight transposed: oneDNN's sgemm runs x·W for the MLP's output about a fifth faster
    /// than x·Wᵀ with a [768, 3072] W (docs/PRECISION.md).
    func withTransposedMLPOutput() -> CLIPEncoderLayer {
        var layer = self
        layer.fc2Weight = fc2Weight.withTransposedCopy()
        return layer
    }

    /// This block with bf16 copies of its six linear weights.
    func withBF16Weights() -> CLIPEncoderLayer {
        var layer = self
        layer.qWeight = qWeight.withBF16()
        layer.kWeight = kWeight.withBF16()
        layer.vWeight = vWeight.withBF16()
        layer.outWeight = outWeight.withBF16()
        layer.fc1Weight = fc1Weight.withBF16()
        layer.fc2Weight = fc2Weight.withBF16()
        return layer
    }

    init(_ read: WeightReader, prefix p: String, width d: Int, intermediate i: Int) throws {
        qWeight = try read("\(p).self_attn.q_proj.weight", [d, d])
        qBias = try read("\(p).self_attn.q_proj.bias", [d])
        kWeight = try read("\(p).self_attn.k_proj.weight", [d, d])
        kBias = try read("\(p).self_attn.k_proj.bias", [d])
        vWeight = try read("\(p).self_attn.v_proj.weight", [d, d])
        vBias = try read("\(p).self_attn.v_proj.bias", [d])
        outWeight = try read("\(p).self_attn.out_proj.weight", [d, d])
        outBias = try read("\(p).self_attn.out_proj.bias", [d])
        norm1Weight = try read("\(p).layer_norm1.weight", [d])
        norm1Bias = try read("\(p).layer_norm1.bias", [d])
        norm2Weight = try read("\(p).layer_norm2.weight", [d])
        norm2Bias = try read("\(p).layer_norm2.bias", [d])
        fc1Weight = try read("\(p).mlp.fc1.weight", [i, d])
        fc1Bias = try read("\(p).mlp.fc1.bias", [i])
        fc2Weight = try read("\(p).mlp.fc2.weight", [d, i])
        fc2Bias = try read("\(p).mlp.fc2.bias", [d])
    }
}
