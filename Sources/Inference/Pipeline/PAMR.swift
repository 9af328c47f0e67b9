import CKernels
import Glibc

/// PAMR, pixel-adaptive mask refinement (docs/DENSE-MODES.md §3; used by NACLIP): `iterations` times, every
/// pixel's class scores become the average of its 8 neighbours' at each dilation, weighted by a softmax of how
/// alike their colours are (relative to the local spread of colour). The kernels are C (CKernels/pamr.c).
package enum PAMR {
    /// The padded planes the kernels work on: rows of `width` values from column `left`, `stride` floats apart, with
    /// room for the farthest neighbour on either side and for the step's 16-column blocks; planes of `height` rows,
    /// `plane` floats apart.
    struct Layout {
        let height: Int, width: Int, left: Int, stride: Int, plane: Int

        init(height: Int, width: Int, dilations: [Int]) {
            let reach = min(dilations.max() ?? 0, width)
            func up(_ n: Int, _ m: Int) -> Int { (n + m - 1) / m * m }
            (self.height, self.width) = (height, width)
            left = up(reach, 8)
            stride = left + up(width, 16) + up(reach, 8)
            // Planes start an odd number of cache lines apart. A multiple of 4 KiB apart, the same column of every
            // neighbour's weights fell in one cache set: 600×400 and 512×512 took 2× as long as 600×375.
            plane = (up(height * stride, 16) / 16 | 1) * 16
        }

        /// Where row y of plane p's values start.
        func offset(plane p: Int, row y: Int) -> Int { p * plane + y * stride + left }
    }

    /// `count` planes of floats in the padded layout, in memory of their own, asked to be backed by huge pages where
    /// the system has them: PAMR's buffers are tens of megabytes, written once and freed, and faulted in 4 KiB at a
    /// time they made `bench pamr` about 1.3× slower (medians of 115-166 ms against 83-133 ms, interleaved on a
    /// 2-core AMD VM). Uninitialised when made.
    final class Planes {
        let layout: Layout, count: Int
        let base: UnsafeMutablePointer<Float>

        init(count: Int, layout: Layout) {
            (self.count, self.layout) = (count, layout)
            let floats = max(count * layout.plane, 1), bytes = floats * MemoryLayout<Float>.stride
            let page = 2 << 20
            var raw: UnsafeMutableRawPointer?
            guard posix_memalign(&raw, bytes >= page ? page : 64, bytes) == 0, let raw else { fatalError("out of memory: \(bytes) bytes for PAMR") }
            if bytes >= page { _ = madvise(raw, bytes, Int32(MADV_HUGEPAGE)) }
            base = raw.bindMemory(to: Float.self, capacity: floats)
        }

        /// Planes holding `packed` [count, height, width].
        convenience init(_ packed: UnsafeBufferPointer<Float>, count: Int, layout: Layout) {
            precondition(packed.count == count * layout.height * layout.width)
            self.init(count: count, layout: layout)
            let l = layout
            Parallel.forEachChunk(count * l.height, grain: 64) {
                lm_pamr_spread(packed.baseAddress!, self.base, $0.lowerBound, $0.upperBound, Int32(l.height), Int32(l.width),
                               Int32(l.stride), Int32(l.left), l.plane)
            }
        }

        deinit { free(base) }

        /// Copies the values into `packed` [count, height, width].
        func gather(into packed: UnsafeMutableBufferPointer<Float>) {
            let l = layout
            precondition(packed.count == count * l.height * l.width)
            Parallel.forEachChunk(count * l.height, grain: 64) {
                lm_pamr_gather(base, packed.baseAddress!, $0.lowerBound, $0.upperBound, Int32(l.height), Int32(l.width),
                               Int32(l.stride), Int32(l.left), l.plane)
            }
        }

        /// Fills the padding of every row, once the values are written.
        func pad() {
            let l = layout
            Parallel.forEachChunk(count * l.height, grain: 64) {
                lm_pamr_pad(base, $0.lowerBound, $0.upperBound, Int32(l.height), Int32(l.width), Int32(l.stride), Int32(l.left), l.plane)
            }
        }
    }

    /// Refines `scores` [K, h, w] in place, guided by `image` [3, h, w] (the normalised image at the scores' size).
    /// `depth` overrides how many iterations a sweep runs (for the tests: the result must not depend on it).
    package static func refine(_ scores: inout [Float], classes k: Int, image: [Float], height h: Int, width w: Int,
                       dilations: [Int], iterations: Int, depth: Int? = nil) {
        guard iterations > 0, !dilations.isEmpty, h > 0, w > 0 else { return }
        precondition(scores.count == k * h * w && image.count == 3 * h * w)
        let layout = Layout(height: h, width: w, dilations: dilations)
        let guide = image.withUnsafeBufferPointer { Planes($0, count: 3, layout: layout) }
        let planes = scores.withUnsafeBufferPointer { Planes($0, count: k, layout: layout) }
        let refined = refine(planes, guide: guide, dilations: dilations, iterations: iterations, depth: depth)
        scores.withUnsafeMutableBufferPointer { refined.gather(into: $0) }
    }

    /// Refines the class planes `scores`, guided by `guide` (3 planes: the normalised image at the scores' size),
    /// both padded (the layout's dilations the same); returns the refined planes (`scores` itself, or a buffer of
    /// the same layout).
    static func refine(_ scores: Planes, guide: Planes, dilations: [Int], iterations: Int, depth: Int? = nil) -> Planes {
        let layout = scores.layout, (h, w, k) = (scores.layout.height, scores.layout.width, scores.count)
        guard iterations > 0, !dilations.isEmpty, h > 0, w > 0 else { return scores }
        precondition(guide.count == 3 && guide.layout.plane == layout.plane && dilations.count <= 64)
        let (stride, left, plane) = (Int32(layout.stride), Int32(layout.left), layout.plane)
        let dilations = dilations.map { Int32($0) }
        let affinity = Planes(count: 8 * dilations.count, layout: layout)
        Parallel.forEachChunk(h, grain: 16) { rows in
            lm_pamr_affinity(guide.base, Int32(h), Int32(w), stride, left, plane, dilations, Int32(dilations.count), affinity.base,
                             Int32(rows.lowerBound), Int32(rows.upperBound))
        }
        let second = Planes(count: k, layout: layout)  // the iterations write all of it
        // Classes are refined independently, so the threads divide them, and each sweeps the image for four of its
        // classes at a time (one block of the step's registers; small groups let a sweep run more iterations within
        // the cache, 2-3× faster than one group per thread with 150 classes).
        let group = 4
        let depth = depth ?? sweepDepth(width: layout.stride, classes: group, neighbours: 8 * dilations.count,
                                        lag: min(Int(dilations.max()!), h - 1), iterations: iterations)
        Parallel.forEachChunk(k, grain: 1) { classes in
            for from in Swift.stride(from: classes.lowerBound, to: classes.upperBound, by: group) {
                lm_pamr_iterate(affinity.base, scores.base, second.base, Int32(h), Int32(w), stride, left, plane, dilations,
                                Int32(dilations.count), Int32(iterations), Int32(depth), Int32(from),
                                Int32(min(from + group, classes.upperBound)))
            }
        }
        return iterations % 2 == 0 ? scores : second
    }

    /// How many iterations one sweep down the image runs together (lm_pamr_iterate): as many as keep the rows a
    /// thread has in flight (each iteration `lag` rows behind the one before, with their weights and both buffers'
    /// scores) within a few megabytes, about a core's share of the last-level cache. On 500×375 with 21 classes and
    /// dilations 8 and 16 that is 6 iterations; all 10 at once was 1.5-2× slower, and one at a time 1.3×.
    static func sweepDepth(width: Int, classes: Int, neighbours: Int, lag: Int, iterations: Int) -> Int {
        let rowBytes = 4 * width * (neighbours + 2 * classes)
        return max(1, min(iterations, cacheBudget / max(1, (lag + 1) * rowBytes)))
    }

    static let cacheBudget = 6 << 20
}
