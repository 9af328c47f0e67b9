import CKernels

/// Softmax of every row of m (after scaling by `scale`), in place.
package func softmaxRows(_ m: inout Matrix, scale: Float = 1) {
    let (rows, cols) = (m.rows, m.cols)
    m.data.withUnsafeMutableBufferPointer { buffer in
        softmaxRows(buffer.baseAddress!, rows: rows, cols: cols, scale: scale, causal: false)
    }
}

/// Row softmax of a [rows, cols] block at p, scaled by `scale`; with `causal`, row i only sees columns 0...i
/// (the rest become 0). `serial` keeps it on the calling thread.
package func softmaxRows(_ p: UnsafeMutablePointer<Float>, rows: Int, cols: Int, scale: Float, causal: Bool, serial: Bool = false) {
    if serial {
        lm_softmax_rows(p, Int32(rows), Int32(cols), Int32(cols), scale, causal ? 1 : 0, 0)
        return
    }
    Parallel.forEachChunk(rows, grain: causal ? rows + 1 : 32) { range in
        lm_softmax_rows(p + range.lowerBound * cols, Int32(range.count), Int32(cols), Int32(cols), scale,
                        causal ? 1 : 0, Int32(range.lowerBound))
    }
}
