/// softmax(Q_h K_hᵀ / √d) V_h for every head h and every segment of rows; q, k, v are [n, D] with head h in
/// columns h·d..<(h+1)·d, so each head is a pair of strided GEMMs (lda = D) and no transposed copies are made.
func multiHeadAttention(q: Matrix, k: Matrix, v: Matrix, heads: Int, segments: [Range<Int>], causal: Bool) -> Matrix {
    let width = q.cols
    let headDim = width / heads
    let scale = 1 / Float(headDim).squareRoot()
    var out = Matrix(rows: q.rows, cols: width)
    let longest = segments.map(\.count).max() ?? 0
    var scores = [Float](repeating: 0, count: longest * longest)
    q.data.withUnsafeBufferPointer { qb in
        k.data.withUnsafeBufferPointer { kb in
            v.data.withUnsafeBufferPointer { vb in
                out.data.withUnsafeMutableBufferPointer { ob in
                    scores.withUnsafeMutableBufferPointer { sb in
                        let s = sb.baseAddress!
                        for segment in segments {
                            let n = segment.count
                            let rowOffset = segment.lowerBound * width
                            for head in 0..<heads {
                                let column = rowOffset + head * headDim
                                // S [n, n] = scale · Q_h K_hᵀ
                                BLAS.sgemm(transB: true, m: n, n: n, k: headDim, alpha: scale,
                                           a: qb.baseAddress! + column, lda: width,
                                           b: kb.baseAddress! + column, ldb: width, c: s, ldc: n)
                                softmaxRows(s, rows: n, cols: n, scale: 1, causal: causal)
                                // O_h [n, d] = S V_h
                                BLAS.sgemm(m: n, n: headDim, k: n, a: s, lda: n,
                                           b: vb.baseAddress! + column, ldb: width,
                                           c: ob.baseAddress! + column, ldc: width)
                            }
                        }
                    }
                }
            }
        }
    }
    return out
}
