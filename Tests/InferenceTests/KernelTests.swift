import CKernels
import Foundation
import Testing
import Inference

/// The fast kernels against naive versions, on odd shapes.
@Suite struct KernelTests {
    var rng = ImageTestRNG(state: 42)

    mutating func random(_ count: Int, in range: ClosedRange<Float> = -3...3) -> [Float] {
        (0..<count).map { _ in Float.random(in: range, using: &rng) }
    }

    @Test func expAndErfMatchLibm() {
        let xs = stride(from: Float(-90), through: 88, by: 0.0137).map { $0 }
        var out = [Float](repeating: 0, count: xs.count)
        lm_exp(xs, &out, xs.count)
        for (x, y) in zip(xs, out) {
            let exact = Foundation.exp(Double(x))
            // Relative accuracy over the normal range; near the bottom only the absolute error matters (softmax).
            let bound = x > -80 ? 4e-7 * exact : 1e-34
            #expect(abs(Double(y) - exact) <= bound, "exp(\(x))")
        }
        lm_erf(xs, &out, xs.count)
        for (x, y) in zip(xs, out) { #expect(abs(Double(y) - Foundation.erf(Double(x))) < 3e-7, "erf(\(x))") }
    }

    /// PAMR's C kernels against the formulas of docs/DENSE-MODES.md §3 written out in Double, on an odd-sized image
    /// with a dilation wider than it (every neighbour clamped), and six classes (a group of four and one of two).
    @Test mutating func pamrMatchesNaive() {
        let (h, w, k, dilations, iterations) = (9, 13, 6, [1, 2, 20], 3)
        let image = random(3 * h * w), start = random(k * h * w)
        var scores = start
        PAMR.refine(&scores, classes: k, image: image, height: h, width: w, dilations: dilations, iterations: iterations)

        func at(_ t: [Double], _ c: Int, _ y: Int, _ x: Int) -> Double { t[c * h * w + min(max(y, 0), h - 1) * w + min(max(x, 0), w - 1)] }
        let picture = image.map(Double.init)
        let offsets = dilations.flatMap { d in [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)].map { ($0.0 * d, $0.1 * d) } }
        var weights = [[Double]](repeating: [], count: h * w)
        for y in 0..<h {
            for x in 0..<w {
                var kappa = [Double](repeating: 0, count: offsets.count)
                for c in 0..<3 {
                    let values = offsets.map { at(picture, c, y + $0.0, x + $0.1) } + [Double](repeating: at(picture, c, y, x), count: dilations.count)
                    let mean = values.reduce(0, +) / Double(values.count)
                    let sigma = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)).squareRoot()
                    for (n, o) in offsets.enumerated() {
                        kappa[n] -= abs(at(picture, c, y, x) - at(picture, c, y + o.0, x + o.1)) / (1e-8 + 0.1 * sigma) / 3
                    }
                }
                let top = kappa.max()!, e = kappa.map { Foundation.exp($0 - top) }, total = e.reduce(0, +)
                weights[y * w + x] = e.map { $0 / total }
            }
        }
        var expected = start.map(Double.init)
        for _ in 0..<iterations {
            var next = expected
            for c in 0..<k {
                for y in 0..<h {
                    for x in 0..<w {
                        next[c * h * w + y * w + x] = offsets.enumerated().reduce(0) { $0 + weights[y * w + x][$1.offset] * at(expected, c, y + $1.element.0, x + $1.element.1) }
                    }
                }
            }
            expected = next
        }
        #expect(zip(scores, expected).allSatisfy { abs(Double($0) - $1) < 1e-4 }, "max \(zip(scores, expected).map { abs(Double($0) - $1) }.max()!)")
        #expect(zip(scores, start).contains { $0 != $1 })
    }

    /// The iterations that one sweep down the image runs together change the order of the work, never a value:
    /// on an image taller than the farthest neighbour row, every depth gives the same bits as one at a time.
    @Test mutating func pamrSweepDepthChangesNothing() {
        let (h, w, k, dilations, iterations) = (41, 37, 7, [2, 5], 7)
        let image = random(3 * h * w), start = random(k * h * w)
        var results: [[Float]] = []
        for depth in [1, 2, 3, 7] {
            var scores = start
            PAMR.refine(&scores, classes: k, image: image, height: h, width: w, dilations: dilations, iterations: iterations, depth: depth)
            results.append(scores)
        }
        #expect(results.allSatisfy { $0 == results[0] })
        #expect(results[0] != start)
    }

    @Test mutating func layerNormMatchesNaive() {
        let (rows, cols) = (7, 37)
        let x = Matrix(rows: rows, cols: cols, data: random(rows * cols))
        let w = random(cols), b = random(cols)
        let y = w.withUnsafeBufferPointer { wp in
            b.withUnsafeBufferPointer { bp in
                layerNorm(x, weight: Tensor(wp.baseAddress!, shape: [cols]), bias: Tensor(bp.baseAddress!, shape: [cols]), eps: 1e-5)
            }
        }
        for r in 0..<rows {
            let row = (0..<cols).map { Double(x[r, $0]) }
            let mean = row.reduce(0, +) / Double(cols)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(cols)
            for c in 0..<cols {
                let expected = (row[c] - mean) / (variance + 1e-5).squareRoot() * Double(w[c]) + Double(b[c])
                #expect(abs(Double(y[r, c]) - expected) < 1e-4)
            }
        }
    }

    @Test mutating func softmaxMatchesNaiveAndMasksCausally() {
        let n = 13
        var m = Matrix(rows: n, cols: n, data: random(n * n, in: -20...20))
        let original = m
        m.data.withUnsafeMutableBufferPointer { softmaxRows($0.baseAddress!, rows: n, cols: n, scale: 2, causal: true) }
        for i in 0..<n {
            let visible = (0...i).map { 2 * Double(original[i, $0]) }
            let top = visible.max()!
            let total = visible.map { Foundation.exp($0 - top) }.reduce(0, +)
            for j in 0..<n {
                let expected = j <= i ? Foundation.exp(visible[j] - top) / total : 0
                #expect(abs(Double(m[i, j]) - expected) < 1e-6)
            }
        }
    }

    @Test(arguments: [Activation.quickGELU, .gelu, .geluTanh])
    func activationMatchesFormula(_ activation: Activation) {
        var m = Matrix(rows: 3, cols: 4099, data: (0..<3 * 4099).map { Float($0 % 997) / 60 - 8 })
        let x = m.data
        activation.apply(&m)
        for (input, output) in zip(x, m.data) {
            let v = Double(input)
            let expected = switch activation {
            case .quickGELU: v / (1 + Foundation.exp(-1.702 * v))
            case .gelu: 0.5 * v * (1 + Foundation.erf(v / 2.0.squareRoot()))
            case .geluTanh: 0.5 * v * (1 + tanh(0.7978845608 * (v + 0.044715 * v * v * v)))
            }
            #expect(abs(Double(output) - expected) < 2e-6 * max(1, abs(expected)), "\(activation)(\(input))")
        }
    }

    @Test mutating func linearMatchesNaive() {
        let (n, inputs, outputs) = (5, 19, 11)
        let x = Matrix(rows: n, cols: inputs, data: random(n * inputs))
        let w = random(outputs * inputs), b = random(outputs)
        let y = w.withUnsafeBufferPointer { wp in
            b.withUnsafeBufferPointer { bp in
                linear(x, weight: Tensor(wp.baseAddress!, shape: [outputs, inputs]), bias: Tensor(bp.baseAddress!, shape: [outputs]))
            }
        }
        for r in 0..<n {
            for o in 0..<outputs {
                let expected = (0..<inputs).reduce(Double(b[o])) { $0 + Double(x[r, $1]) * Double(w[o * inputs + $1]) }
                #expect(abs(Double(y[r, o]) - expected) < 1e-4)
            }
        }
    }

    /// Sizes below one block, a whole block, and several blocks with a part of one (and of a copy tile) left over.
    @Test(arguments: [(1, 3), (7, 5), (128, 9), (300, 37)])
    mutating func gramMatchesNaive(rows n: Int, cols k: Int) {
        let a = random(n * k)
        var c = [Float](repeating: .nan, count: n * n)
        a.withUnsafeBufferPointer { pa in c.withUnsafeMutableBufferPointer { gram(pa.baseAddress!, rows: n, cols: k, alpha: -2, into: $0.baseAddress!) } }
        #expect(!c.contains { $0.isNaN }, "every element written")
        var worst = 0.0
        for i in 0..<n {
            for j in 0..<n {
                let exact = -2 * (0..<k).reduce(0.0) { $0 + Double(a[i * k + $1]) * Double(a[j * k + $1]) }
                worst = max(worst, abs(Double(c[i * n + j]) - exact))
            }
        }
        #expect(worst < 1e-3, "largest difference \(worst)")
    }

    /// What `bench encoder` counts: blocks of 128 rows, each against the rows up to its last.
    @Test func gramCountsItsMultiplyAdds() {
        #expect(gramMultiplyAdds(rows: 100, cols: 2) == 100 * 100 * 2)
        #expect(gramMultiplyAdds(rows: 300, cols: 37) == (128 * 128 + 128 * 256 + 44 * 300) * 37)
    }
}
