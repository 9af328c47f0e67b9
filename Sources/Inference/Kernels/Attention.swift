/// softmax(Q_h K_hᵀ / √d) V_h for every head h and every segment of rows; q, k, v are [n, D] with head h in
/// columns h·d..<(h+1)·d, so each head is a pair of strided GEMMs (lda = D) and no transposed copies are made.
package func multiHeadAttention(q: Matrix, k: Matrix, v: Matrix, heads: Int, segments: [Range<Int>], causal: Bool) -> Matrix {
    let width = q.cols
    let headDim = width / heads
    let scale = 1 / Float(headDim).squareRoot()
    var out = Matrix(rows: q.rows, cols: width)
    let longest = segments.map(\.count).max() ?? 0
    q.data.withUnsafeBufferPointer { qb in
        k.data.withUnsafeBufferPointer { kb in
            v.data.withUnsafeBufferPointer { vb in
                out.data.withUnsafeMutableBufferPointer { ob in
                    let o = ob.baseAddress!
                    forEachHead(heads, scratch: longest * longest) { head, s, serial in
                        for segment in segments {
                            let n = segment.count
                            let column = segment.lowerBound * width + head * headDim
                            // S [n, n] = scale · Q_h K_hᵀ
                            BLAS.sgemm(transB: true, m: n, n: n, k: headDim, alpha: scale, a: qb.baseAddress! + column, lda: width,
                                       b: kb.baseAddress! + column, ldb: width, c: s, ldc: n, serial: serial)
                            softmaxRows(s, rows: n, cols: n, scale: 1, causal: causal, serial: serial)
                            // O_h [n, d] = S V_h
                            BLAS.sgemm(m: n, n: headDim, k: n, a: s, lda: n, b: vb.baseAddress! + column, ldb: width,
                                       c: o + column, ldc: width, serial: serial)
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
    out.data.withUnsafeMutableBufferPointer { ob in
        let o = ob.baseAddress!
        // Each head's scratch: its weights, and (with more than one term) a term's scores before they are added.
        forEachHead(heads, scratch: (terms.count > 1 ? 2 : 1) * n * n) { head, scratch, serial in
            let weights = scratch
            for (t, (a, b)) in terms.enumerated() {
                // The first term is built in the weights themselves, later ones in scratch and added.
                let s = t == 0 ? weights : scratch + n * n
                a.data.withUnsafeBufferPointer { ab in
                    b.data.withUnsafeBufferPointer { bb in
                        BLAS.sgemm(transB: true, m: n, n: n, k: headDim, alpha: scale, a: ab.baseAddress! + head * headDim,
                                   lda: width, b: bb.baseAddress! + head * headDim, ldb: width, c: s, ldc: n, serial: serial)
                    }
                }
                if let bias { bias.withUnsafeBufferPointer { addInPlace(s, $0.baseAddress!, count: n * n, serial: serial) } }
                softmaxRows(s, rows: n, cols: n, scale: 1, causal: false, serial: serial)
                if t > 0 { addInPlace(weights, UnsafePointer(s), count: n * n, serial: serial) }
            }
            if let shared { shared.withUnsafeBufferPointer { addInPlace(weights, $0.baseAddress!, count: n * n, serial: serial) } }
            v.data.withUnsafeBufferPointer { vb in
                BLAS.sgemm(m: n, n: headDim, k: n, alpha: weightScale, a: weights, lda: n, b: vb.baseAddress! + head * headDim,
                           ldb: width, c: o + head * headDim, ldc: width, serial: serial)
            }
        }
    }
    return out
}

/// Runs `body(head, scratch, serial)` for every head, with `scratch` floats of its own to work in. Where the GEMM
/// library takes calls from several threads at once (oneDNN), the heads run side by side, each on one thread
/// with single-threaded products (`serial`): no thread waits on another between a head's products and its
/// softmax. Otherwise (OpenBLAS) they run one after another, every product on every core.
private func forEachHead(_ heads: Int, scratch count: Int,
                         _ body: (_ head: Int, _ scratch: UnsafeMutablePointer<Float>, _ serial: Bool) -> Void) {
    func withScratch(_ work: (UnsafeMutablePointer<Float>) -> Void) {
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        defer { scratch.deallocate() }
        work(scratch)
    }
    if BLAS.takesConcurrentCalls && Parallel.workers > 1 && heads > 1 {
        Parallel.forEachChunk(heads, grain: 1) { range in
            withScratch { scratch in for head in range { body(head, scratch, true) } }
        }
    } else {
        withScratch { scratch in for head in 0..<heads { body(head, scratch, false) } }
    }
}
