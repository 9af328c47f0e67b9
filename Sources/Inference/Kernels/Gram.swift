/// C [n, n] = alpha · A Aᵀ for A [n, k], both row-major and dense. C is symmetric, so only the part on and below the
/// diagonal is multiplied: each block of 128 rows against the rows up to its own last, one GEMM each (58% of a full
/// product's multiply-adds at n = 784), and the rest is copied across the diagonal.
///
/// It pays where k is large: SC-CLIP's token similarities over D = 768 take about 65% of one sgemm's time
/// (`labelmill bench blas`). A head's scores (k = 64) do not gain: the products are too small to stay efficient.
package func gram(_ a: UnsafePointer<Float>, rows n: Int, cols k: Int, alpha: Float = 1, into c: UnsafeMutablePointer<Float>) {
    let tile = 16  // the copy's tiles never straddle two blocks
    for (start, end) in gramBlocks(n) {
        BLAS.sgemm(transB: true, m: end - start, n: end, k: k, alpha: alpha, a: a + start * k, lda: k, b: a, ldb: k,
                   c: c + start * n, ldc: n)
    }
    // Row r was multiplied up to the end of its block; C[r, col] for each later column is C[col, r].
    Parallel.forEachChunk((n + tile - 1) / tile, grain: 4) { tiles in
        for firstRow in tiles.lazy.map({ $0 * tile }) {
            let rows = firstRow..<min(firstRow + tile, n)
            for firstColumn in stride(from: min((firstRow / gramBlock + 1) * gramBlock, n), to: n, by: tile) {
                let columns = firstColumn..<min(firstColumn + tile, n)
                for r in rows { for col in columns { c[r * n + col] = c[col * n + r] } }
            }
        }
    }
}

/// The multiply-adds `gram` does for A [n, k].
package func gramMultiplyAdds(rows n: Int, cols k: Int) -> Int {
    gramBlocks(n).reduce(0) { $0 + ($1.end - $1.start) * $1.end * k }
}

private let gramBlock = 128

/// `gram`'s row blocks: rows start..<end, multiplied against rows 0..<end.
private func gramBlocks(_ n: Int) -> [(start: Int, end: Int)] {
    stride(from: 0, to: n, by: gramBlock).map { ($0, min($0 + gramBlock, n)) }
}
