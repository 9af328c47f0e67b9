import Foundation
import Testing
import Inference

/// Multi-head attention (strided GEMMs per head and per segment) against a naive triple loop.
@Suite struct AttentionTests {
    static func naive(q: Matrix, k: Matrix, v: Matrix, heads: Int, segments: [Range<Int>], causal: Bool) -> Matrix {
        let d = q.cols / heads
        var out = Matrix(rows: q.rows, cols: q.cols)
        for segment in segments {
            for h in 0..<heads {
                for i in segment {
                    var scores: [Double] = []
                    for j in segment where !causal || j <= i {
                        var dot = 0.0
                        for c in 0..<d { dot += Double(q[i, h * d + c]) * Double(k[j, h * d + c]) }
                        scores.append(dot / Double(d).squareRoot())
                    }
                    let top = scores.max()!
                    let weights = scores.map { Foundation.exp($0 - top) }
                    let total = weights.reduce(0, +)
                    for c in 0..<d {
                        var sum = 0.0
                        for (offset, w) in weights.enumerated() { sum += w / total * Double(v[segment.lowerBound + offset, h * d + c]) }
                        out[i, h * d + c] = Float(sum)
                    }
                }
            }
        }
        return out
    }

    @Test(arguments: [false, true])
    func matchesNaive(causal: Bool) {
        var rng = ImageTestRNG(state: 7)
        let (rows, width, heads) = (17, 24, 3)
        func random() -> Matrix { Matrix(rows: rows, cols: width, data: (0..<rows * width).map { _ in Float.random(in: -2...2, using: &rng) }) }
        let (q, k, v) = (random(), random(), random())
        let segments = [0..<5, 5..<6, 6..<17]
        let fast = multiHeadAttention(q: q, k: k, v: v, heads: heads, segments: segments, causal: causal)
        let slow = Self.naive(q: q, k: k, v: v, heads: heads, segments: segments, causal: causal)
        #expect(maxAbsDifference(fast.data, slow.data) < 1e-5)
    }
}
