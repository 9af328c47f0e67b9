import Foundation
import Testing
import Inference

/// Prompt denoising, key smoothing and the two-step upsampling on small hand-checked inputs.
@Suite struct MaskCLIPHeadTests {
    @Test func promptDenoisingRemovesClassesAbsentEverywhere() {
        // Class 2 never wins anywhere (its softmax probability stays far below 0.5), classes 0 and 1 win somewhere.
        var logits = Matrix(rows: 3, cols: 3, data: [0.30, 0.10, 0.20,
                                                     0.10, 0.30, 0.25,
                                                     0.30, 0.29, 0.00])
        MaskCLIPHead.promptDenoise(&logits, threshold: 0.5)
        #expect((0..<3).map { logits[$0, 2] } == [-100, -100, -100])
        #expect(logits[0, 0] == 0.30 && logits[1, 1] == 0.30)
        var untouched = Matrix(rows: 1, cols: 2, data: [0.1, 0.2])
        MaskCLIPHead.promptDenoise(&untouched, threshold: 0)
        #expect(untouched.data == [0.1, 0.2])
    }

    @Test func keySmoothingMatchesTheDenseFormula() {
        var rng = ImageTestRNG(state: 3)
        let (n, c, k) = (6, 4, 3)
        let logits = Matrix(rows: n, cols: k, data: (0..<n * k).map { _ in Float.random(in: -0.05...0.05, using: &rng) })
        let keys = Matrix(rows: n, cols: c, data: (0..<n * c).map { _ in Float.random(in: -1...1, using: &rng) })
        let threshold: Float = 0.6
        let smoothed = MaskCLIPHead.keySmooth(logits, keys: keys, threshold: threshold)
        // Naive: P, k̂ with unit columns, W = k̂ k̂ᵀ [n, n], rows below the threshold replaced by (W P)[i].
        var p = logits
        softmaxRows(&p, scale: 100)
        let norms = (0..<c).map { ch in (0..<n).reduce(0.0) { $0 + Double(keys[$1, ch] * keys[$1, ch]) }.squareRoot() }
        for i in 0..<n {
            let confident = (0..<k).map { p[i, $0] }.max()! >= threshold
            for j in 0..<k {
                var expected = Double(p[i, j])
                if !confident {
                    expected = 0
                    for m in 0..<n {
                        let w = (0..<c).reduce(0.0) { $0 + Double(keys[i, $1]) * Double(keys[m, $1]) / (norms[$1] * norms[$1]) }
                        expected += w * Double(p[m, j])
                    }
                }
                #expect(abs(Double(smoothed[i, j]) - expected) < 1e-5)
            }
        }
    }

    /// Naive two-step bilinear (align_corners = false) on [K, h, w] planes, then argmax.
    /// The upsampled planes [Q][h·w], and each pixel's best query.
    static func naiveUpsampleArgmax(_ scores: Matrix, gh: Int, gw: Int, nh: Int, nw: Int, h: Int, w: Int)
        -> (labels: [UInt8], planes: [[Float]]) {
        func resize(_ plane: [Float], _ ih: Int, _ iw: Int, _ oh: Int, _ ow: Int) -> [Float] {
            let ys = Resample.linearTaps(from: ih, to: oh), xs = Resample.linearTaps(from: iw, to: ow)
            var out = [Float](repeating: 0, count: oh * ow)
            for y in 0..<oh {
                for x in 0..<ow {
                    let (ty, tx) = (ys[y], xs[x])
                    out[y * ow + x] = ty.w0 * (tx.w0 * plane[ty.i0 * iw + tx.i0] + tx.w1 * plane[ty.i0 * iw + tx.i1])
                        + ty.w1 * (tx.w0 * plane[ty.i1 * iw + tx.i0] + tx.w1 * plane[ty.i1 * iw + tx.i1])
                }
            }
            return out
        }
        let planes = (0..<scores.cols).map { k in
            resize(resize((0..<gh * gw).map { scores[$0, k] }, gh, gw, nh, nw), nh, nw, h, w)
        }
        let labels = (0..<h * w).map { i in
            var best = 0
            for k in 1..<planes.count where planes[k][i] > planes[best][i] { best = k }
            return UInt8(best)
        }
        return (labels, planes)
    }

    static func decision(_ queries: Int) -> QueryDecision {
        QueryDecision(queryClasses: Array(0..<queries), scale: 100, minConfidence: 0, confidence: false)
    }

    @Test(arguments: [(3, 5, 48, 65, 45, 61), (2, 2, 32, 32, 7, 300), (4, 3, 61, 47, 1, 1)])
    func upsamplingMatchesNaive(gh: Int, gw: Int, nh: Int, nw: Int, h: Int, w: Int) {
        var rng = ImageTestRNG(state: UInt64(h * w))
        let scores = Matrix(rows: gh * gw, cols: 4, data: (0..<gh * gw * 4).map { _ in Float.random(in: 0...1, using: &rng) })
        let fast = upsampleDecide(scores, gridHeight: gh, gridWidth: gw, resizedHeight: nh, resizedWidth: nw, height: h, width: w,
                                  decision: Self.decision(4))
        #expect(fast.labels == Self.naiveUpsampleArgmax(scores, gh: gh, gw: gw, nh: nh, nw: nw, h: h, w: w).labels)
        #expect(fast.confidence == nil)
    }

    /// Synonyms (queries 1 and 2 are class 1), the softmax's probability and the threshold, against the
    /// naive upsampling and a softmax in Double.
    @Test(arguments: [(3, 5, 48, 65, 45, 61), (2, 2, 32, 32, 7, 300)])
    func synonymsAndConfidenceMatchNaive(gh: Int, gw: Int, nh: Int, nw: Int, h: Int, w: Int) {
        var rng = ImageTestRNG(state: UInt64(h * w + 1))
        let scores = Matrix(rows: gh * gw, cols: 4, data: (0..<gh * gw * 4).map { _ in Float.random(in: 0.1...0.3, using: &rng) })
        let queryClasses = [0, 1, 1, 2], threshold: Float = 0.5, scale: Float = 40
        let fast = upsampleDecide(scores, gridHeight: gh, gridWidth: gw, resizedHeight: nh, resizedWidth: nw, height: h, width: w,
                                  decision: QueryDecision(queryClasses: queryClasses, scale: scale, minConfidence: threshold, confidence: true))
        let naive = Self.naiveUpsampleArgmax(scores, gh: gh, gw: gw, nh: nh, nw: nw, h: h, w: w)
        var voids = 0, confident = 0
        for i in 0..<h * w {
            let values = naive.planes.map { Double($0[i]) }
            let top = values.max()!
            let probabilities = values.map { exp(Double(scale) * ($0 - top)) }
            let sum = probabilities.reduce(0, +)
            // p_c = max over the class's queries; the label is the class with the highest p_c.
            var classProbability = [Double](repeating: 0, count: 3)
            for (q, c) in queryClasses.enumerated() { classProbability[c] = max(classProbability[c], probabilities[q] / sum) }
            let best = classProbability.max()!
            let expected = best < Double(threshold) ? LabelMap.void : UInt8(classProbability.firstIndex(of: best)!)
            #expect(fast.labels[i] == expected, "pixel \(i)")
            #expect(abs(Double(fast.confidence![i]) - best * 255) <= 0.51, "pixel \(i)")
            if expected == LabelMap.void { voids += 1 } else { confident += 1 }
        }
        #expect(voids > 0 && confident > 0, "the threshold splits the pixels: \(voids) void, \(confident) labeled")
    }

    @Test func tiesGoToTheLowestIndex() {
        let scores = Matrix(rows: 1, cols: 3, data: [-100, 0.5, 0.5])
        #expect(upsampleDecide(scores, gridHeight: 1, gridWidth: 1, resizedHeight: 2, resizedWidth: 2, height: 3, width: 3,
                               decision: Self.decision(3)).labels == [UInt8](repeating: 1, count: 9))
    }

    @Test func resizeFollowsTheSpecFormula() {
        #expect(PreparedImage.resizedSize(height: 375, width: 500, shortSide: 448, longSide: 2048) == (448, 597))
        #expect(PreparedImage.resizedSize(height: 100, width: 5000, shortSide: 512, longSide: 2048) == (41, 2048))
        #expect(PreparedImage.resizedSize(height: 1, width: 1, shortSide: 512, longSide: 2048) == (512, 512))
    }
}
