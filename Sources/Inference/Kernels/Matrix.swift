/// Row-major activations [rows, cols], owned by one forward pass (per-call scratch state, never shared).
package struct Matrix {
    package var rows: Int
    package var cols: Int
    package var data: [Float]

    package init(rows: Int, cols: Int, repeating value: Float = 0) {
        self.rows = rows
        self.cols = cols
        data = [Float](repeating: value, count: rows * cols)
    }

    /// A matrix whose every element the caller writes before reading any (a product's or a kernel's output):
    /// no pass over memory to zero it first.
    init(uninitializedRows rows: Int, cols: Int, _ fill: (UnsafeMutablePointer<Float>) -> Void) {
        self.rows = rows
        self.cols = cols
        data = [Float](unsafeUninitializedCapacity: rows * cols) { buffer, count in
            if let base = buffer.baseAddress { fill(base) }
            count = rows * cols
        }
    }

    package init(rows: Int, cols: Int, data: [Float]) {
        precondition(data.count == rows * cols, "matrix data does not match [\(rows), \(cols)]")
        self.rows = rows
        self.cols = cols
        self.data = data
    }

    package subscript(row: Int, col: Int) -> Float {
        get { data[row * cols + col] }
        set { data[row * cols + col] = newValue }
    }

    /// Rows lo..<hi as a new matrix.
    package func rows(_ range: Range<Int>) -> Matrix {
        Matrix(rows: range.count, cols: cols, data: Array(data[range.lowerBound * cols..<range.upperBound * cols]))
    }
}
