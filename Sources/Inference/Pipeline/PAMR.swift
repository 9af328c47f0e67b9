import CKernels
import Glibc

/// PAMR, pixel-adaptive mask refinement (docs/DENSE-MODES.md §3; used by NACLIP): `iterations` times, every
/// pixel's class scores become the average of its 8 neighbours' at each dilation, weighted by a softmax of how
/// alike their colours are (relative to the local spread of colour). The kernels are C (CKernels/pamr.c).
enum PAMR {
    /// The padded rows the kernels work on: `left` columns before each row of `width` values, and a row `stride`
    /// that leaves room for the farthest neighbour on either side and for the step's 16-column blocks.
    struct Layout {
        let width: Int, left: Int, stride: Int

        init(width: Int, dilations: [Int]) {
            let reach = min(dilations.max() ?? 0, width)
            func up(_ n: Int, _ m: Int) -> Int { (n + m - 1) / m * m }
            self.width = width
            left = up(reach, 8)
            stride = left + up(width, 16) + up(reach, 8)
        }

        /// `rows` rows of `width` values, copied into padded rows.
        func padded(_ packed: UnsafeBufferPointer<Float>, rows: Int) -> Buffer {
            let padded = Buffer(count: rows * stride)
            let (source, target) = (packed.baseAddress!, padded.base)
            Parallel.forEachChunk(rows, grain: 64) {
                lm_pamr_spread(source, target, $0.lowerBound, $0.upperBound, Int32(width), Int32(stride), Int32(left))
            }
            return padded
        }

        /// The values of `rows` padded rows, packed into `packed`.
        func gather(_ padded: Buffer, rows: Int, into packed: UnsafeMutableBufferPointer<Float>) {
            let (source, target) = (padded.base, packed.baseAddress!)
            Parallel.forEachChunk(rows, grain: 64) {
                lm_pamr_gather(source, target, $0.lowerBound, $0.upperBound, Int32(width), Int32(stride), Int32(left))
            }
        }
    }

    /// Uninitialised floats in memory of their own, asked to be backed by huge pages where the system has them:
    /// PAMR's buffers are tens of megabytes, written once and freed, and faulted in 4 KiB at a time they made
    /// `bench pamr` about 1.3× slower (medians of 115-166 ms against 83-133 ms, interleaved on a 2-core AMD VM).
    struct Buffer {
        let base: UnsafeMutablePointer<Float>

        init(count: Int) {
            let bytes = max(count, 1) * MemoryLayout<Float>.stride
            let page = 2 << 20
            var raw: UnsafeMutableRawPointer?
            guard posix_memalign(&raw, bytes >= page ? page : 64, bytes) == 0, let raw else { fatalError("out of memory: \(bytes) bytes for PAMR") }
            if bytes >= page { _ = madvise(raw, bytes, Int32(MADV_HUGEPAGE)) }
            base = raw.bindMemory(to: Float.self, capacity: count)
        }

        func free() { Glibc.free(base) }
    }

    /// Refines `scores` [K, h, w] in place, guided by `image` [3, h, w] (the normalised image at the scores' size).
    /// `depth` overrides how many iterations a sweep runs (for the tests: the result must not depend on it).
    static func refine(_ scores: inout [Float], classes k: Int, image: [Float], height h: Int, width w: Int,
                       dilations: [Int], iterations: Int, depth: Int? = nil) {
        guard iterations > 0, !dilations.isEmpty, h > 0, w > 0 else { return }
        precondition(scores.count == k * h * w && image.count == 3 * h * w && dilations.count <= 64)
        let layout = Layout(width: w, dilations: dilations)
        let (stride, left) = (Int32(layout.stride), Int32(layout.left))
        let dilations = dilations.map { Int32($0) }
        let affinity = Buffer(count: 8 * dilations.count * h * layout.stride)
        defer { affinity.free() }
        do {
            let guide = image.withUnsafeBufferPointer { layout.padded($0, rows: 3 * h) }
            defer { guide.free() }
            Parallel.forEachChunk(h, grain: 16) { rows in
                lm_pamr_affinity(guide.base, Int32(h), Int32(w), stride, left, dilations, Int32(dilations.count), affinity.base,
                                 Int32(rows.lowerBound), Int32(rows.upperBound))
            }
        }
        let first = scores.withUnsafeBufferPointer { layout.padded($0, rows: k * h) }
        let second = Buffer(count: k * h * layout.stride)  // the iterations write all of it
        defer { first.free(); second.free() }
        // Classes are refined independently, so the threads divide them, and each sweeps the image for four of its
        // classes at a time (one block of the step's registers; small groups let a sweep run more iterations within
        // the cache, 2-3× faster than one group per thread with 150 classes).
        let group = 4
        let depth = depth ?? sweepDepth(width: layout.stride, classes: group, neighbours: 8 * dilations.count,
                                        lag: min(Int(dilations.max()!), h - 1), iterations: iterations)
        Parallel.forEachChunk(k, grain: 1) { classes in
            for from in Swift.stride(from: classes.lowerBound, to: classes.upperBound, by: group) {
                lm_pamr_iterate(affinity.base, first.base, second.base, Int32(h), Int32(w), stride, left, dilations,
                                Int32(dilations.count), Int32(iterations), Int32(depth), Int32(from),
                                Int32(min(from + group, classes.upperBound)))
            }
        }
        let result = iterations % 2 == 0 ? first : second
        scores.withUnsafeMutableBufferPointer { layout.gather(result, rows: k * h, into: $0) }
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
