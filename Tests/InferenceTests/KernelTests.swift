import CKernels
import Foundation
import Testing
@testable import Inference

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
}
