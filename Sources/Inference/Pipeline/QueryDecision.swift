import Foundation

/// From the queries' scores at one pixel to its label (docs/DENSE-MODES.md §2). P = softmax(scale · scores) over
/// all queries; a class's probability is the best of its queries'; the label is the class with the highest one.
/// The softmax keeps the order of the scores, so that class is the best query's (the lowest on ties) whatever the
/// scale, and the probability is needed only for a confidence threshold or map.
package struct QueryDecision: Sendable {
    /// The class of each query.
    let queryClasses: [UInt8]
    let scale: Float
    /// Pixels whose best probability is below this are void; 0: off.
    let minConfidence: Float
    /// Whether each pixel's probability is computed: for the threshold, or for a confidence map.
    let needsProbability: Bool

    package init(queryClasses: [Int], scale: Float, minConfidence: Float, confidence: Bool) {
        precondition(!queryClasses.isEmpty && queryClasses.allSatisfy { (0..<255).contains($0) }, "1 or more queries of classes 0...254")
        self.queryClasses = queryClasses.map { UInt8($0) }
        self.scale = scale
        self.minConfidence = minConfidence
        needsProbability = confidence || minConfidence > 0
    }

    var queries: Int { queryClasses.count }

    /// The pixel whose query j scores `scores[j * stride]`: its label (void when not confident enough) and its
    /// confidence, the best probability times 255 rounded (0 when not computed).
    @inline(__always)
    func decide(_ scores: UnsafePointer<Float>, stride: Int = 1) -> (label: UInt8, confidence: UInt8) {
        var best = scores[0], index = 0
        for j in 1..<queryClasses.count where scores[j * stride] > best { (best, index) = (scores[j * stride], j) }
        guard needsProbability else { return (queryClasses[index], 0) }
        var sum: Float = 0
        for j in 0..<queryClasses.count { sum += expf(scale * (scores[j * stride] - best)) }
        let probability = 1 / sum
        return (probability < minConfidence ? LabelMap.void : queryClasses[index], UInt8((probability * 255).rounded()))
    }

    /// The label map and (when the probability is computed) the confidence map of an h × w image. `fill` gets
    /// `decide(p, scores, stride)`, to call once for every pixel p = y·w + x, from any of the threads, with that
    /// pixel's query j scoring scores[j · stride].
    func maps(height h: Int, width w: Int,
              _ fill: (_ decide: (_ pixel: Int, _ scores: UnsafePointer<Float>, _ stride: Int) -> Void) -> Void)
        -> (labels: [UInt8], confidence: [UInt8]?) {
        var labels = [UInt8](repeating: 0, count: h * w)
        var confidence = [UInt8](repeating: 0, count: needsProbability ? h * w : 0)
        labels.withUnsafeMutableBufferPointer { out in
            confidence.withUnsafeMutableBufferPointer { sure in
                // An empty array's buffer may still have an address: only a computed confidence is written.
                let o = out.baseAddress!, confident = needsProbability ? sure.baseAddress : nil
                fill { p, scores, stride in
                    let (label, sure) = decide(scores, stride: stride)
                    o[p] = label
                    confident?[p] = sure
                }
            }
        }
        return (labels, needsProbability ? confidence : nil)
    }
}
