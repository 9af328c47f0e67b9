/// CLIP's text tower (transformers' `CLIPTextTransformer` + `text_projection`): token + position embedding,
/// causal pre-LN blocks, final_layer_norm, the row at the first <|endoftext|>, projection.
public struct CLIPTextTransformer: Sendable {
    public let config: CLIPConfig.Tower
    let tokenEmbedding: Tensor       // text_model.embeddings.token_embedding.weight [V, Dt]
    let positionEmbedding: Tensor    // text_model.embeddings.position_embedding.weight [C, Dt]
    let layers: [CLIPEncoderLayer]   // text_model.encoder.layers.{i}
    let finalNormWeight, finalNormBias: Tensor  // text_model.final_layer_norm.{weight,bias} [Dt]
    let projection: Tensor           // text_projection.weight [E, Dt], no bias

    init(_ read: WeightReader, config c: CLIPConfig.Tower, projectionDim e: Int) throws {
        let d = c.hiddenSize
        config = c
        tokenEmbedding = try read("text_model.embeddings.token_embedding.weight", [c.vocabSize, d])
        positionEmbedding = try read("text_model.embeddings.position_embedding.weight", [c.maxPositionEmbeddings, d])
        layers = try (0..<c.numHiddenLayers).map {
            try CLIPEncoderLayer(read, prefix: "text_model.encoder.layers.\($0)", width: d, intermediate: c.intermediateSize)
        }
        finalNormWeight = try read("text_model.final_layer_norm.weight", [d])
        finalNormBias = try read("text_model.final_layer_norm.bias", [d])
        projection = try read("text_projection.weight", [e, d])
    }

    /// Projected embeddings [n, E] (not normalised) of token sequences that each start with <|startoftext|> and
    /// contain an <|endoftext|> (`endOfText`). Positions after the first <|endoftext|> cannot affect its row
    /// under the causal mask, so each sequence is cut there: the blocks run over the real tokens only.
    /// Sequences are packed into one matrix so every Linear is one large GEMM.
    func embed(_ sequences: [[Int32]], endOfText: Int32, settings: BlockSettings, batch: Int = 256) throws -> Matrix {
        var out = Matrix(rows: 0, cols: projection.shape[0])
        for start in stride(from: 0, to: sequences.count, by: batch) {
            let part = try embedBatch(Array(sequences[start..<min(start + batch, sequences.count)]),
                                      endOfText: endOfText, settings: settings)
            out.data += part.data
            out.rows += part.rows
        }
        return out
    }

    private func embedBatch(_ sequences: [[Int32]], endOfText: Int32, settings: BlockSettings) throws -> Matrix {
        let d = config.hiddenSize
        var segments: [Range<Int>] = []
        var tokens: [Int32] = []
        for sequence in sequences {
            guard let eot = sequence.firstIndex(of: endOfText) else {
                throw InferenceError(.tokenizer, "token sequence has no <|endoftext|>")
            }
            guard eot < config.maxPositionEmbeddings else {
                throw InferenceError(.tokenizer, "token sequence of \(eot + 1) tokens exceeds the context of \(config.maxPositionEmbeddings)")
            }
            segments.append(tokens.count..<tokens.count + eot + 1)
            tokens += sequence[...eot]
        }
        var x = Matrix(rows: tokens.count, cols: d)
        for segment in segments {
            for (position, row) in segment.enumerated() {
                let id = Int(tokens[row])
                guard id >= 0, id < config.vocabSize else {
                    throw InferenceError(.tokenizer, "token id \(id) is outside the vocabulary of \(config.vocabSize)")
                }
                for c in 0..<d { x[row, c] = tokenEmbedding[id * d + c] + positionEmbedding[position * d + c] }
            }
        }
        for layer in layers {
            layer.forward(&x, heads: config.numAttentionHeads, segments: segments, causal: true, settings: settings)
        }
        var pooled = Matrix(rows: segments.count, cols: d)
        for (i, segment) in segments.enumerated() {
            let row = segment.upperBound - 1
            pooled.data.replaceSubrange(i * d..<(i + 1) * d, with: x.data[row * d..<(row + 1) * d])
        }
        let normed = layerNorm(pooled, weight: finalNormWeight, bias: finalNormBias, eps: settings.eps)
        return linear(normed, weight: projection, bias: nil)
    }
}
