/// The numeric settings a forward pass runs with: the checkpoint's, or the MaskCLIP reference code's.
package struct BlockSettings: Sendable {
    var eps: Float
    var activation: Activation
}

extension CLIPEncoderLayer {
    /// x = x + attn(ln1(x)); x = x + mlp(ln2(x)), with attention inside each segment of rows
    /// (one segment per sequence), causal for the text tower.
    func forward(_ x: inout Matrix, heads: Int, segments: [Range<Int>], causal: Bool, settings: BlockSettings) {
        let h = layerNorm(x, weight: norm1Weight, bias: norm1Bias, eps: settings.eps)
        let q = linear(h, weight: qWeight, bias: qBias)
        let k = linear(h, weight: kWeight, bias: kBias)
        let v = linear(h, weight: vWeight, bias: vBias)
        let context = multiHeadAttention(q: q, k: k, v: v, heads: heads, segments: segments, causal: causal)
        addLinear(&x, context, weight: outWeight, bias: outBias)
        addMLP(&x, settings)
    }

    /// x = x + mlp(ln2(x)), the block's second half.
    func addMLP(_ x: inout Matrix, _ settings: BlockSettings) {
        var hidden = linear(layerNorm(x, weight: norm2Weight, bias: norm2Bias, eps: settings.eps), weight: fc1Weight, bias: fc1Bias)
        settings.activation.apply(&hidden)
        addLinear(&x, hidden, weight: fc2Weight, bias: fc2Bias)
    }
}

extension CLIPEncoderLayer {
    /// v_proj(y), the values every attention of the dense modes weighs.
    func values(_ y: Matrix) -> Matrix { linear(y, weight: vWeight, bias: vBias) }

    /// out_proj of the heads' concatenated outputs.
    func attentionOutput(_ context: Matrix) -> Matrix { linear(context, weight: outWeight, bias: outBias) }
}
