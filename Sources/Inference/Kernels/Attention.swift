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

/// The attention of the dense modes (docs/DENSE-MODES.md §1), over one sequence of n tokens:
/// O_h = (Σ_t softmax(scale · A_t,h B_t,hᵀ + bias)) V_h for every head h, where each term t is a pair (A, B) of
/// [n, D] matrices (q and q for ClearCLIP, q q and k k for SCLIP, k and k for NACLIP) and `bias`, when given, is one
/// [n, n] matrix added to every head's scaled logits (NACLIP's neighbourhood prior). `shared`, when given, is one
/// [n, n] matrix of weights added to every head's softmaxes, and the sum is scaled by `weightScale` (SC-CLIP:
/// ½ [shared + softmax(s k kᵀ)]).
func similarityAttention(terms: [(Matrix, Matrix)], v: Matrix, heads: Int, bias: [Float]? = nil, shared: [Float]? = nil,
                         weightScale: Float = 1) -> Matrix {
    let (n, width) = (v.rows, v.cols)
    let headDim = width / heads
    let scale = 1 / Float(headDim).squareRoot()
    var out = Matrix(rows: n, cols: width)
    var weights = [Float](repeating: 0, count: n * n)
    var scores = [Float](repeating: 0, count: terms.count > 1 ? n * n : 0)
    weights.withUnsafeMutableBufferPointer { wb in
        scores.withUnsafeMutableBufferPointer { sb in
            out.data.withUnsafeMutableBufferPointer { ob in
                for head in 0..<heads {
                    for (t, (a, b)) in terms.enumerated() {
                        // The first term is built in the weights themselves, later ones in scratch and added.
                        let s = t == 0 ? wb.baseAddress! : sb.baseAddress!
                        a.data.withUnsafeBufferPointer { ab in
                            b.data.withUnsafeBufferPointer { bb in
                                BLAS.sgemm(transB: true, m: n, n: n, k: headDim, alpha: scale,
                                           a: ab.baseAddress! + head * headDim, lda: width,
                                           b: bb.baseAddress! + head * headDim, ldb: width, c: s, ldc: n)
                            }
                        }
                        if let bias { bias.withUnsafeBufferPointer { addInPlace(s, $0.baseAddress!, count: n * n) } }
                        softmaxRows(s, rows: n, cols: n, scale: 1, causal: false)
                        if t > 0 { addInPlace(wb.baseAddress!, UnsafePointer(s), count: n * n) }
                    }
                    if let shared { shared.withUnsafeBufferPointer { addInPlace(wb.baseAddress!, $0.baseAddress!, count: n * n) } }
                    v.data.withUnsafeBufferPointer { vb in
                        BLAS.sgemm(m: n, n: headDim, k: n, alpha: weightScale, a: wb.baseAddress!, lda: n,
                                   b: vb.baseAddress! + head * headDim, ldb: width,
                                   c: ob.baseAddress! + head * headDim, ldc: width)
                    }
                }
            }
        }
    }
    return out
}
