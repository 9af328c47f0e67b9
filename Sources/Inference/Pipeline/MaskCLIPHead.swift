/// MaskCLIP's per-image refinements on the dense logits [HW, K] (docs/maskclip.md sections 5 and 6) and the
/// final upsampling and argmax. Pure functions of matrices, tested against the Python reference.
package enum MaskCLIPHead {
    /// The logit the reference code gives a class removed by prompt denoising (code: -100, not -inf).
    static let removedLogit: Float = -100

    /// Prompt denoising: P = softmax(100·logits) over classes at every position; a class whose highest
    /// probability anywhere is below `threshold` gets logit -100 everywhere. `threshold` 0 turns it off.
    package static func promptDenoise(_ logits: inout Matrix, threshold: Float) {
        guard threshold > 0 else { return }
        var probabilities = logits
        softmaxRows(&probabilities, scale: 100)
        let k = logits.cols
        var best = [Float](repeating: 0, count: k)
        for r in 0..<logits.rows {
            for c in 0..<k { best[c] = max(best[c], probabilities[r, c]) }
        }
        for c in 0..<k where best[c] < threshold {
            for r in 0..<logits.rows { logits[r, c] = removedLogit }
        }
    }

    /// Key smoothing: P = softmax(100·logits); k̂ = keys with every channel divided by its L2 norm over the HW
    /// positions (code: F.normalize(dim=1) on [1, HW, C]); rows whose highest probability is below `threshold`
    /// become (k̂ k̂ᵀ P)[i]. Returns the probabilities, which are the scores from here on.
    /// k̂ (k̂ᵀ P) is computed instead of (k̂ k̂ᵀ) P: the same product without the [HW, HW] matrix.
    package static func keySmooth(_ logits: Matrix, keys: Matrix, threshold: Float) -> Matrix {
        precondition(keys.rows == logits.rows, "one key per position")
        var probabilities = logits
        softmaxRows(&probabilities, scale: 100)
        let (n, c, k) = (keys.rows, keys.cols, logits.cols)
        var normalized = keys
        for channel in 0..<c {
            var sum: Float = 0
            for r in 0..<n { sum += keys[r, channel] * keys[r, channel] }
            let inverse = 1 / max(sum.squareRoot(), 1e-12)
            for r in 0..<n { normalized[r, channel] *= inverse }
        }
        // Plain loops instead of GEMMs, with the class index innermost: every class gets the same sequence of
        // operations, so classes whose probabilities are equal (all removed by prompt denoising, say) stay exactly
        // tied and the lowest index wins, as the spec says, whatever BLAS kernel runs. It is a small product.
        var projected = Matrix(rows: c, cols: k)   // k̂ᵀ P  [C, K]
        for r in 0..<n {
            for channel in 0..<c {
                let weight = normalized[r, channel]
                for j in 0..<k { projected[channel, j] += weight * probabilities[r, j] }
            }
        }
        var smoothed = Matrix(rows: n, cols: k)    // k̂ (k̂ᵀ P)  [HW, K]
        for r in 0..<n {
            for channel in 0..<c {
                let weight = normalized[r, channel]
                for j in 0..<k { smoothed[r, j] += weight * projected[channel, j] }
            }
        }
        for r in 0..<n {
            var best: Float = 0
            for j in 0..<k { best = max(best, probabilities[r, j]) }
            if best < threshold {
                for j in 0..<k { probabilities[r, j] = smoothed[r, j] }
            }
        }
        return probabilities
    }
}
