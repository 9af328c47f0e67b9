import CKernels

/// y = (x - mean) / sqrt(var + eps) · weight + bias over each row of [rows, cols] (biased variance, like torch).
package func layerNorm(_ x: Matrix, weight: Tensor, bias: Tensor, eps: Float) -> Matrix {
    precondition(weight.count == x.cols && bias.count == x.cols, "layer norm width mismatch")
    let n = x.cols
    return x.data.withUnsafeBufferPointer { src in
        Matrix(uninitializedRows: x.rows, cols: n) { ys in
            let xs = src.baseAddress!
            Parallel.forEachChunk(x.rows, grain: 8) { rows in
                lm_layer_norm(xs + rows.lowerBound * n, ys + rows.lowerBound * n, Int32(rows.count), Int32(n),
                              weight.pointer, bias.pointer, eps)
            }
        }
    }
}
