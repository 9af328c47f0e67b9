/// SC-CLIP's last block (docs/DENSE-MODES.md, "SC-CLIP"): outlier tokens repaired, the attention steered by the
/// similarity of an intermediate block's tokens, the result aggregated by an early block's similarity, and a second
/// branch over the sum of the middle blocks' outputs.
extension CLIPVisionTransformer {
    /// The blocks (1-based) SC-CLIP reads, for a tower of `depth` blocks: ViT-B/16's and ViT-L/14's as the official
    /// code has them; other depths scale ViT-B/16's (rounding half up, within 1...depth-1).
    package struct SCCLIPLayers: Equatable {
        /// Whose token similarity steers the attention (S_mid) and pre-aggregates the main branch (S_pre).
        var middle: Int
        /// Whose token similarity aggregates the output (S_post).
        var early: Int
        /// Whose outputs are summed for the multi-level branch.
        var levels: ClosedRange<Int>
        /// The class token's weight added to each branch's output.
        var classWeight: Float

        package init(middle: Int, early: Int, levels: ClosedRange<Int>, classWeight: Float) {
            (self.middle, self.early, self.levels, self.classWeight) = (middle, early, levels, classWeight)
        }

        package init(depth: Int) {
            if depth == 24 {
                self.init(middle: 17, early: 7, levels: 9...19, classWeight: 0.1)
                return
            }
            func clamp(_ block: Int) -> Int { min(max(block, 1), max(depth - 1, 1)) }
            let (middle, early) = (clamp((9 * depth + 6) / 12), clamp((4 * depth + 6) / 12))
            self.init(middle: middle, early: early, levels: early...max(early, depth - 2), classWeight: 0.3)
        }

        /// Whether the output of `block` is read.
        func reads(_ block: Int) -> Bool { block == middle || block == early || levels.contains(block) }
    }

    /// What SC-CLIP keeps of the earlier blocks while the tower runs.
    package struct SCCLIPInputs {
        let layers: SCCLIPLayers
        var middle = Matrix(rows: 0, cols: 0)
        var early = Matrix(rows: 0, cols: 0)
        var levelSum = Matrix(rows: 0, cols: 0)

        /// Records the output of `block` (1-based) if SC-CLIP reads it.
        mutating func record(_ x: Matrix, block: Int) {
            if block == layers.middle { middle = x }
            if block == layers.early { early = x }
            if layers.levels.contains(block) {
                if levelSum.rows == 0 { levelSum = x } else { addInPlace(&levelSum, x) }
            }
        }
    }

    /// The patch tokens [gh·gw, D] SC-CLIP's last block gives for the output `x` [1 + gh·gw, D] of the block before it.
    func scclipPatches(_ x: Matrix, inputs: SCCLIPInputs, gridHeight gh: Int, gridWidth gw: Int, settings: BlockSettings) -> Matrix {
        let last = layers[layers.count - 1]
        let heads = config.numAttentionHeads
        let n = gh * gw
        let patches = x.rows(1..<x.rows)
        let flagged = SCCLIPMath.outliers(patches)
        let middle = SCCLIPMath.cosine(SCCLIPMath.repair(inputs.middle.rows(1..<inputs.middle.rows), flagged, gridWidth: gw))
        let preAggregation = SCCLIPMath.flooredRowNormalized(middle)
        let postAggregation = SCCLIPMath.flooredRowNormalized(SCCLIPMath.cosine(inputs.early.rows(1..<inputs.early.rows)))
        let steering = SCCLIPMath.steering(middle)
        // Attn_A(z) before out_proj: A = ½ [softmax(steering) + softmax(s k kᵀ)], k and v from ln1(z), the last
        // block's weights.
        func attend(_ z: Matrix) -> Matrix {
            let y = layerNorm(z, weight: last.norm1Weight, bias: last.norm1Bias, eps: settings.eps)
            let k = linear(y, weight: last.kWeight, bias: last.kBias)
            return similarityAttention(terms: [(k, k)], v: last.values(y), heads: heads, shared: steering, weightScale: 0.5)
        }
        // The branches, out_proj(Attn_A(pre-aggregated repaired patches)) + w·x_cls and out_proj(Attn_A(level sum)) +
        // w·levelSum_cls, are summed before anything else, and out_proj and Agg(S_post, ·) are linear: so both
        // contexts go through out_proj as one sum (its bias then added once more), and the sum is aggregated once.
        var context = attend(SCCLIPMath.aggregate(preAggregation, SCCLIPMath.repair(patches, flagged, gridWidth: gw)))
        addInPlace(&context, attend(inputs.levelSum.rows(1..<inputs.levelSum.rows)))
        var branches = last.attentionOutput(context)
        let w = inputs.layers.classWeight
        let added = (0..<branches.cols).map { c in last.outBias[c] + w * x[0, c] + w * inputs.levelSum[0, c] }
        for r in 0..<n { for c in 0..<branches.cols { branches[r, c] += added[c] } }
        return SCCLIPMath.aggregate(postAggregation, branches)
    }
}

/// SC-CLIP's pieces over N patch tokens, as pure functions (tested against the reference through the goldens).
package enum SCCLIPMath {
    /// Local-outlier flags: kd_i = squared L2 distance from token i to its k-th nearest other token (k = 30, at
    /// most N - 1); score_i = mean of kd_i / kd_j over those neighbours j; flagged where score_i exceeds the 0.95
    /// quantile of the scores (linear interpolation).
    package static func outliers(_ p: Matrix, neighbours: Int = 30) -> [Bool] {
        let n = p.rows
        guard n > 1 else { return [Bool](repeating: false, count: n) }
        let k = min(neighbours, n - 1)
        let distances = squaredDistances(p)
        var near = [Int](repeating: 0, count: n * k)
        var kd = [Float](repeating: 0, count: n)
        near.withUnsafeMutableBufferPointer { nb in
            kd.withUnsafeMutableBufferPointer { kb in
                distances.withUnsafeBufferPointer { db in
                    let (nearest, farthest, all) = (nb.baseAddress!, kb.baseAddress!, db.baseAddress!)
                    Parallel.forEachChunk(n, grain: 16) { rows in
                        for i in rows {
                            let found = nearestOthers(of: i, all + i * n, count: n, k: k)
                            for (slot, j) in found.enumerated() { nearest[i * k + slot] = j }
                            farthest[i] = all[i * n + found[k - 1]]
                        }
                    }
                }
            }
        }
        let scores = (0..<n).map { i in near[i * k..<(i + 1) * k].reduce(Float(0)) { $0 + kd[i] / kd[$1] } / Float(k) }
        let sorted = scores.sorted()
        let position = 0.95 * Float(n - 1)
        let below = Int(position)
        let threshold = below + 1 < n ? sorted[below] + (position - Float(below)) * (sorted[below + 1] - sorted[below]) : sorted[below]
        return scores.map { $0 > threshold }
    }

    /// The k tokens nearest to token i (not i itself), nearest first, ties to the lower index, from its row of
    /// distances: one pass that keeps the k best so far in order.
    static func nearestOthers(of i: Int, _ row: UnsafePointer<Float>, count n: Int, k: Int) -> [Int] {
        var best = [Int]()
        best.reserveCapacity(k + 1)
        for j in 0..<n where j != i {
            let d = row[j]
            guard best.count < k || d < row[best[k - 1]] else { continue }
            var slot = best.count
            while slot > 0 && row[best[slot - 1]] > d { slot -= 1 }
            best.insert(j, at: slot)
            if best.count > k { best.removeLast() }
        }
        return best
    }

    /// ‖p_i − p_j‖² for all pairs [N, N] as ‖p_i‖² + ‖p_j‖² − 2 p_i·p_j (one symmetric product, whose diagonal
    /// gives the ‖p_i‖²), never below 0.
    static func squaredDistances(_ p: Matrix) -> [Float] {
        let n = p.rows
        var out = [Float](repeating: 0, count: n * n)
        p.data.withUnsafeBufferPointer { a in
            out.withUnsafeMutableBufferPointer { buffer in
                let o = buffer.baseAddress!
                gram(a.baseAddress!, rows: n, cols: p.cols, alpha: -2, into: o)
                let norms = (0..<n).map { -0.5 * o[$0 * n + $0] }
                Parallel.forEachChunk(n) { rows in
                    for i in rows { for j in 0..<n { o[i * n + j] = max(o[i * n + j] + norms[i] + norms[j], 0) } }
                }
            }
        }
        return out
    }

    /// Each flagged token of the grid (row-major, `gw` wide) replaced by the mean of its non-flagged 8-neighbours;
    /// one without any keeps its value. All from the tokens as they were.
    package static func repair(_ p: Matrix, _ flagged: [Bool], gridWidth gw: Int) -> Matrix {
        var out = p
        let gh = p.rows / gw
        for i in 0..<p.rows where flagged[i] {
            let (r, c) = (i / gw, i % gw)
            var count = 0
            var mean = [Float](repeating: 0, count: p.cols)
            for dr in -1...1 {
                for dc in -1...1 where (dr, dc) != (0, 0) {
                    let (y, x) = (r + dr, c + dc)
                    guard (0..<gh).contains(y), (0..<gw).contains(x), !flagged[y * gw + x] else { continue }
                    count += 1
                    for ch in 0..<p.cols { mean[ch] += p[y * gw + x, ch] }
                }
            }
            guard count > 0 else { continue }
            for ch in 0..<p.cols { out[i, ch] = mean[ch] / Float(count) }
        }
        return out
    }

    /// The cosine similarity of every pair of rows [N, N].
    static func cosine(_ p: Matrix) -> Matrix {
        var unit = p
        normalizeRows(&unit)
        var out = Matrix(rows: p.rows, cols: p.rows)
        unit.data.withUnsafeBufferPointer { u in
            out.data.withUnsafeMutableBufferPointer { o in
                gram(u.baseAddress!, rows: p.rows, cols: p.cols, into: o.baseAddress!)
            }
        }
        return out
    }

    /// Similarities below 0.4 set to 0, then each row divided by its sum + 1e-6: Agg(S, X) = this · X.
    static func flooredRowNormalized(_ s: Matrix, below threshold: Float = 0.4) -> Matrix {
        var out = s
        let cols = s.cols
        out.data.withUnsafeMutableBufferPointer { buffer in
            let p = buffer.baseAddress!
            Parallel.forEachChunk(s.rows, grain: 16) { rows in
                for r in rows {
                    let row = p + r * cols
                    var sum: Float = 0
                    for c in 0..<cols {
                        if row[c] < threshold { row[c] = 0 }
                        sum += row[c]
                    }
                    let inverse = 1 / (sum + 1e-6)
                    for c in 0..<cols { row[c] *= inverse }
                }
            }
        }
        return out
    }

    static func aggregate(_ weights: Matrix, _ x: Matrix) -> Matrix {
        var out = Matrix(rows: weights.rows, cols: x.cols)
        weights.data.withUnsafeBufferPointer { a in
            x.data.withUnsafeBufferPointer { b in
                out.data.withUnsafeMutableBufferPointer { o in
                    BLAS.sgemm(m: weights.rows, n: x.cols, k: weights.cols, a: a.baseAddress!, lda: weights.cols,
                               b: b.baseAddress!, ldb: x.cols, c: o.baseAddress!, ldc: x.cols)
                }
            }
        }
        return out
    }

    /// softmax over each row of G = 3 (S − mean S) (the mean over all N² entries) with G's negative entries left
    /// out: the attention weights every head shares.
    static func steering(_ s: Matrix) -> [Float] {
        let mean = s.data.reduce(Float(0), +) / Float(s.data.count)
        var g = s.data.map { value in
            let centred = 3 * (value - mean)
            return centred < 0 ? -Float.infinity : centred
        }
        g.withUnsafeMutableBufferPointer { softmaxRows($0.baseAddress!, rows: s.rows, cols: s.cols, scale: 1, causal: false) }
        return g
    }
}
