/// scores [gh·gw, Q] → bilinear to nh × nw → bilinear to h × w → each pixel's label and confidence by `decision`,
/// as the reference code resizes twice. Streams by output row: only two intermediate rows per thread are alive,
/// so memory stays O(Q·nw) however large the source image is. The confidence is nil unless the decision
/// computes it.
package func upsampleDecide(_ scores: Matrix, gridHeight gh: Int, gridWidth gw: Int, resizedHeight nh: Int, resizedWidth nw: Int,
                    height h: Int, width w: Int, decision: QueryDecision) -> (labels: [UInt8], confidence: [UInt8]?) {
    precondition(scores.cols == decision.queries, "scores do not match the queries")
    let k = scores.cols
    return decision.maps(height: h, width: w) { decide in
        forEachUpsampledRow(scores, gridHeight: gh, gridWidth: gw, resizedHeight: nh, resizedWidth: nw, height: h, width: w) { y, row in
            for x in 0..<w { decide(y * w + x, row + x * k, 1) }
        }
    }
}

/// scores [gh·gw, Q] → bilinear to nh × nw → bilinear to h × w (the values of Resample.bilinear twice), an output
/// row at a time, rows in parallel: `body(y, row)` gets row y [w, Q] once, on one of the threads. Each thread keeps
/// two intermediate rows [nw, Q].
func forEachUpsampledRow(_ scores: Matrix, gridHeight gh: Int, gridWidth gw: Int, resizedHeight nh: Int, resizedWidth nw: Int,
                         height h: Int, width w: Int, _ body: (Int, UnsafePointer<Float>) -> Void) {
    let k = scores.cols
    precondition(scores.rows == gh * gw, "scores do not match the grid")
    let midY = Resample.linearTaps(from: gh, to: nh), midX = Resample.linearTaps(from: gw, to: nw)
    let outY = Resample.linearTaps(from: nh, to: h), outX = Resample.linearTaps(from: nw, to: w)
    scores.data.withUnsafeBufferPointer { grid in
        let g = grid.baseAddress!
        Parallel.forEachChunk(h, grain: 8) { rows in
            // Intermediate rows [nw, Q], cached by index.
            var cache: [(index: Int, values: [Float])] = []
            func middleRow(_ y: Int) -> [Float] {
                if let hit = cache.first(where: { $0.index == y }) { return hit.values }
                let ty = midY[y]
                var row = [Float](repeating: 0, count: nw * k)
                for (x, tx) in midX.enumerated() {
                    let a = g + (ty.i0 * gw + tx.i0) * k, b = g + (ty.i0 * gw + tx.i1) * k
                    let c = g + (ty.i1 * gw + tx.i0) * k, d = g + (ty.i1 * gw + tx.i1) * k
                    for j in 0..<k {
                        row[x * k + j] = ty.w0 * (tx.w0 * a[j] + tx.w1 * b[j]) + ty.w1 * (tx.w0 * c[j] + tx.w1 * d[j])
                    }
                }
                cache.append((y, row))
                if cache.count > 2 { cache.removeFirst() }
                return row
            }
            var out = [Float](repeating: 0, count: w * k)
            for y in rows {
                let ty = outY[y]
                let top = middleRow(ty.i0), bottom = middleRow(ty.i1)
                for (x, tx) in outX.enumerated() {
                    for j in 0..<k {
                        out[x * k + j] = ty.w0 * (tx.w0 * top[tx.i0 * k + j] + tx.w1 * top[tx.i1 * k + j])
                            + ty.w1 * (tx.w0 * bottom[tx.i0 * k + j] + tx.w1 * bottom[tx.i1 * k + j])
                    }
                }
                out.withUnsafeBufferPointer { body(y, $0.baseAddress!) }
            }
        }
    }
}
