import CKernels

/// PAMR, pixel-adaptive mask refinement (docs/DENSE-MODES.md §3; used by NACLIP): `iterations` times, every
/// pixel's class scores become the average of its 8 neighbours' at each dilation, weighted by a softmax of how
/// alike their colours are (relative to the local spread of colour). The kernels are C (CKernels/pamr.c).
enum PAMR {
    /// Refines `scores` [K, h, w] in place, guided by `image` [3, h, w] (the normalised image at the scores' size).
    static func refine(_ scores: inout [Float], classes k: Int, image: [Float], height h: Int, width w: Int,
                       dilations: [Int], iterations: Int) {
        guard iterations > 0, !dilations.isEmpty, h > 0, w > 0 else { return }
        precondition(scores.count == k * h * w && image.count == 3 * h * w && dilations.count <= 64)
        let dilations = dilations.map { Int32($0) }
        var affinity = [Float](repeating: 0, count: 8 * dilations.count * h * w)
        image.withUnsafeBufferPointer { picture in
            affinity.withUnsafeMutableBufferPointer { a in
                let (p, out) = (picture.baseAddress!, a.baseAddress!)
                Parallel.forEachChunk(h, grain: 16) { rows in
                    lm_pamr_affinity(p, Int32(h), Int32(w), dilations, Int32(dilations.count), out,
                                     Int32(rows.lowerBound), Int32(rows.upperBound))
                }
            }
        }
        var other = [Float](repeating: 0, count: scores.count)
        for _ in 0..<iterations {
            affinity.withUnsafeBufferPointer { a in
                scores.withUnsafeBufferPointer { source in
                    other.withUnsafeMutableBufferPointer { target in
                        let (weights, from, to) = (a.baseAddress!, source.baseAddress!, target.baseAddress!)
                        Parallel.forEachChunk(h, grain: 16) { rows in
                            lm_pamr_step(weights, from, to, Int32(h), Int32(w), dilations, Int32(dilations.count), Int32(k),
                                         Int32(rows.lowerBound), Int32(rows.upperBound))
                        }
                    }
                }
            }
            swap(&scores, &other)
        }
    }
}
