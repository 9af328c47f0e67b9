import CKernels

/// y = x·Wᵀ + b for a torch `nn.Linear` weight W [out, in] and bias b [out]: x [n, in] -> y [n, out]. A weight
/// with a bf16 copy runs in bf16 with fp32 accumulation.
package func linear(_ x: Matrix, weight: Tensor, bias: Tensor?) -> Matrix {
    let (outFeatures, inFeatures) = (weight.shape[0], weight.shape[1])
    precondition(x.cols == inFeatures, "linear: input width \(x.cols) != \(inFeatures)")
    guard x.rows > 0 else { return Matrix(rows: 0, cols: outFeatures) }
    return x.data.withUnsafeBufferPointer { input in
        Matrix(uninitializedRows: x.rows, cols: outFeatures) { o in
            if let packed = weight.bf16 {
                packed.apply(input.baseAddress!, rows: x.rows, bias: bias?.pointer, into: o)
                return
            }
            if let bias {
                for r in 0..<x.rows { (o + r * outFeatures).update(from: bias.pointer, count: outFeatures) }
            }
            product(input.baseAddress!, rows: x.rows, weight: weight, beta: bias == nil ? 0 : 1, into: o)
        }
    }
}

/// y = x·Wᵀ + beta·y, with W [out, in] as stored or, where it has one, its transposed copy.
private func product(_ x: UnsafePointer<Float>, rows: Int, weight: Tensor, beta: Float, into y: UnsafeMutablePointer<Float>) {
    let (outFeatures, inFeatures) = (weight.shape[0], weight.shape[1])
    if let transposed = weight.transposed {
        BLAS.sgemm(m: rows, n: outFeatures, k: inFeatures, a: x, lda: inFeatures, b: transposed.pointer, ldb: outFeatures,
                   beta: beta, c: y, ldc: outFeatures)
    } else {
        BLAS.sgemm(transB: true, m: rows, n: outFeatures, k: inFeatures, a: x, lda: inFeatures, b: weight.pointer,
                   ldb: inFeatures, beta: beta, c: y, ldc: outFeatures)
    }
}

/// x += y·Wᵀ + b (a residual connection around a linear layer), accumulated straight into x.
func addLinear(_ x: inout Matrix, _ y: Matrix, weight: Tensor, bias: Tensor?) {
    let (outFeatures, inFeatures) = (weight.shape[0], weight.shape[1])
    precondition(y.cols == inFeatures && x.cols == outFeatures && x.rows == y.rows, "addLinear: shape mismatch")
    guard x.rows > 0 else { return }
    if weight.bf16 != nil {
        addInPlace(&x, linear(y, weight: weight, bias: bias))
        return
    }
    let rows = x.rows
    x.data.withUnsafeMutableBufferPointer { out in
        let o = out.baseAddress!
        if let bias {
            Parallel.forEachChunk(rows, grain: 64) { range in
                for r in range { lm_add(o + r * outFeatures, bias.pointer, outFeatures) }
            }
        }
        y.data.withUnsafeBufferPointer { product($0.baseAddress!, rows: rows, weight: weight, beta: 1, into: o) }
    }
}

/// x += y, element-wise (residual connections).
func addInPlace(_ x: inout Matrix, _ y: Matrix) {
    precondition(x.data.count == y.data.count, "residual shape mismatch")
    x.data.withUnsafeMutableBufferPointer { a in
        y.data.withUnsafeBufferPointer { b in addInPlace(a.baseAddress!, b.baseAddress!, count: a.count) }
    }
}

/// x[0..<count] += y[0..<count]; `serial` keeps it on the calling thread.
func addInPlace(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int, serial: Bool = false) {
    if serial {
        lm_add(x, y, count)
        return
    }
    Parallel.forEachChunk(count, grain: 1 << 16) { range in
        lm_add(x + range.lowerBound, y + range.lowerBound, range.count)
    }
}

/// Divides every row by its L2 norm.
func normalizeRows(_ m: inout Matrix) {
    let cols = m.cols
    for r in 0..<m.rows {
        var sum: Float = 0
        for c in 0..<cols { sum += m.data[r * cols + c] * m.data[r * cols + c] }
        let inverse = 1 / max(sum.squareRoot(), 1e-12)
        for c in 0..<cols { m.data[r * cols + c] *= inverse }
    }
}
