/// CLIP's vision tower (transformers' `CLIPVisionTransformer` + `visual_projection`) with the MaskCLIP change
/// to its last block: Zhou, Loy, Dai, "Extract Free Dense Labels from CLIP" (ECCV 2022), reference code
/// github.com/chongzhou96/MaskCLIP at 245d31f8. Dense features instead of one pooled embedding.
public struct CLIPVisionTransformer: Sendable {
    public let config: CLIPConfig.Tower
    let classEmbedding: Tensor       // vision_model.embeddings.class_embedding [D]
    let patchEmbedding: Tensor       // vision_model.embeddings.patch_embedding.weight [D, 3, P, P], no bias
    let positionEmbedding: Tensor    // vision_model.embeddings.position_embedding.weight [1 + G·G, D]
    let preNormWeight, preNormBias: Tensor    // vision_model.pre_layrnorm.{weight,bias} [D] (sic)
    package private(set) var layers: [CLIPEncoderLayer]   // vision_model.encoder.layers.{i}
    let postNormWeight, postNormBias: Tensor  // vision_model.post_layernorm.{weight,bias} [D]
    let projection: Tensor           // visual_projection.weight [E, D], no bias

    init(_ read: WeightReader, config c: CLIPConfig.Tower, projectionDim e: Int) throws {
        let (d, p, g) = (c.hiddenSize, c.patchSize, c.gridSize)
        config = c
        classEmbedding = try read("vision_model.embeddings.class_embedding", [d])
        patchEmbedding = try read("vision_model.embeddings.patch_embedding.weight", [d, 3, p, p])
        positionEmbedding = try read("vision_model.embeddings.position_embedding.weight", [1 + g * g, d])
        preNormWeight = try read("vision_model.pre_layrnorm.weight", [d])
        preNormBias = try read("vision_model.pre_layrnorm.bias", [d])
        layers = try (0..<c.numHiddenLayers).map {
            try CLIPEncoderLayer(read, prefix: "vision_model.encoder.layers.\($0)", width: d, intermediate: c.intermediateSize)
        }
        postNormWeight = try read("vision_model.post_layernorm.weight", [d])
        postNormBias = try read("vision_model.post_layernorm.bias", [d])
        projection = try read("visual_projection.weight", [e, d])
    }

    /// This tower with its blocks' linear layers in bf16 (the patch embedding and projection stay fp32: they are
    /// one product each per image).
    func withBF16Blocks() -> CLIPVisionTransformer {
        var tower = self
        tower.layers = layers.map { $0.withBF16Weights() }
        return tower
    }

    /// This tower with its MLPs' output weights transposed (fp32 on oneDNN).
    func withTransposedMLPOutputs() -> CLIPVisionTransformer {
        var tower = self
        tower.layers = layers.map { $0.withTransposedMLPOutput() }
        return tower
    }

    /// The dense path for one prepared image: every block but the last as CLIP runs it, the last as `mode` changes
    /// it. Returns f [gh·gw, E] with unit rows and, when `keys` is set (MaskCLIP only), the last block's keys
    /// [gh·gw, D].
    func denseFeatures(_ image: PreparedImage, mode: DenseMode = .maskclip, settings: BlockSettings,
                       keys wantKeys: Bool) -> (features: Matrix, keys: Matrix?) {
        let (x, scclip) = earlyBlocks(image, mode: mode, settings: settings)
        return lastBlock(x, scclip: scclip, gridHeight: image.gridHeight, gridWidth: image.gridWidth, mode: mode,
                         settings: settings, keys: wantKeys)
    }

    /// The last block as `mode` changes it, on its input `x` [1 + gh·gw, D], through the projection: f [gh·gw, E]
    /// with unit rows, and (MaskCLIP with `keys`) the last block's keys.
    func lastBlock(_ x: Matrix, scclip: SCCLIPInputs?, gridHeight gh: Int, gridWidth gw: Int, mode: DenseMode,
                   settings: BlockSettings, keys wantKeys: Bool) -> (features: Matrix, keys: Matrix?) {
        let last = layers[layers.count - 1]
        let heads = config.numAttentionHeads
        let y = layerNorm(x, weight: last.norm1Weight, bias: last.norm1Bias, eps: settings.eps)
        var z: Matrix  // the last block's output with its class token, or (SC-CLIP) the patch tokens only
        var keys: Matrix?
        switch mode {
        case .maskclip:
            // No attention computed (code): z = x + out_proj(v_proj(y)); z = z + mlp(ln2(z)); key = out_proj(k_proj(y))
            z = x
            addInPlace(&z, linear(linear(y, weight: last.vWeight, bias: last.vBias), weight: last.outWeight, bias: last.outBias))
            last.addMLP(&z, settings)
            if wantKeys {
                let k = linear(y.rows(1..<y.rows), weight: last.kWeight, bias: last.kBias)
                keys = linear(k, weight: last.outWeight, bias: last.outBias)
            }
        case .clearclip:
            // z = Attn(softmax(s q qᵀ)): no residual, no MLP.
            let q = linear(y, weight: last.qWeight, bias: last.qBias)
            z = last.attentionOutput(similarityAttention(terms: [(q, q)], v: last.values(y), heads: heads))
        case .sclip:
            // y' = x + Attn(softmax(s q qᵀ) + softmax(s k kᵀ)); z = y' + mlp(ln2(y')).
            let (q, k) = (linear(y, weight: last.qWeight, bias: last.qBias), linear(y, weight: last.kWeight, bias: last.kBias))
            z = x
            addInPlace(&z, last.attentionOutput(similarityAttention(terms: [(q, q), (k, k)], v: last.values(y), heads: heads)))
            last.addMLP(&z, settings)
        case .naclip:
            // z = Attn(softmax(s k kᵀ + ω)): no residual, no MLP.
            let k = linear(y, weight: last.kWeight, bias: last.kBias)
            z = last.attentionOutput(similarityAttention(terms: [(k, k)], v: last.values(y), heads: heads,
                                                         bias: neighbourhoodPrior(gridHeight: gh, gridWidth: gw)))
        case .scclip:
            z = scclipPatches(x, inputs: scclip!, gridHeight: gh, gridWidth: gw, settings: settings)
        }
        // z = post_layernorm(z)[1:]; f = z·projᵀ; f = f / ‖f‖
        let patches = layerNorm(mode == .scclip ? z : z.rows(1..<z.rows), weight: postNormWeight, bias: postNormBias, eps: settings.eps)
        var features = linear(patches, weight: projection, bias: nil)
        normalizeRows(&features)
        return (features, keys)
    }

    /// The embeddings through every block but the last: the last block's input [1 + gh·gw, D], and (SC-CLIP) the
    /// earlier blocks' outputs it reads.
    package func earlyBlocks(_ image: PreparedImage, mode: DenseMode, settings: BlockSettings) -> (x: Matrix, scclip: SCCLIPInputs?) {
        var x = embeddings(image, gh: image.gridHeight, gw: image.gridWidth, scaledPositions: mode != .maskclip)
        x = layerNorm(x, weight: preNormWeight, bias: preNormBias, eps: settings.eps)
        let all = [0..<x.rows]
        var scclip = mode == .scclip ? SCCLIPInputs(layers: SCCLIPLayers(depth: layers.count)) : nil
        for (index, layer) in layers.dropLast().enumerated() {
            layer.forward(&x, heads: config.numAttentionHeads, segments: all, causal: false, settings: settings)
            scclip?.record(x, block: index + 1)
        }
        return (x, scclip)
    }

    /// [class_embedding ; patch tokens] + position embedding resized to the gh × gw grid: [1 + gh·gw, D].
    func embeddings(_ image: PreparedImage, gh: Int, gw: Int, scaledPositions: Bool = false) -> Matrix {
        let d = config.hiddenSize
        let tokens = linear(image.patches(), weight: patchMatrix, bias: nil)
        let position = resizedPositionEmbedding(gh: gh, gw: gw, scaled: scaledPositions)
        var x = Matrix(rows: 1 + gh * gw, cols: d)
        for c in 0..<d { x[0, c] = classEmbedding[c] + position[0, c] }
        for r in 0..<gh * gw {
            for c in 0..<d { x[1 + r, c] = tokens[r, c] + position[1 + r, c] }
        }
        return x
    }

    /// The conv weight [D, 3, P, P] seen as a Linear weight [D, 3·P·P] (same memory).
    var patchMatrix: Tensor {
        Tensor(patchEmbedding.pointer, shape: [config.hiddenSize, 3 * config.patchSize * config.patchSize],
               owner: patchEmbedding.owner)
    }

    /// The class row unchanged; the G × G grid resized bicubic to gh × gw: by size (MaskCLIP), or `scaled` as the
    /// newer modes' code does it, by the factor (g + 0.1) / G per axis and not at all on a G × G grid.
    package func resizedPositionEmbedding(gh: Int, gw: Int, scaled: Bool = false) -> Matrix {
        let (d, g) = (config.hiddenSize, config.gridSize)
        var out = Matrix(rows: 1 + gh * gw, cols: d)
        for c in 0..<d { out[0, c] = positionEmbedding[c] }
        let grid = UnsafeBufferPointer(start: positionEmbedding.pointer + d, count: g * g * d)
        if scaled && gh == g && gw == g {
            out.data.replaceSubrange(d..<out.data.count, with: grid)
            return out
        }
        let scales = scaled ? (y: Float(g) / (Float(gh) + 0.1), x: Float(g) / (Float(gw) + 0.1)) : nil
        let resized = Resample.bicubic(grid, height: g, width: g, channels: d, toHeight: gh, toWidth: gw, scales: scales)
        out.data.replaceSubrange(d..<out.data.count, with: resized)
        return out
    }
}

import LabelAPI