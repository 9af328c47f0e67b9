import Foundation
import LabelAPI

/// `labelmill bench encoder` and `bench text`: figures, printed, never asserted by tests.
public enum Benchmark {
    public struct EncoderResult: Codable, Sendable {
        public var size: Int
        public var runs: Int
        public var encoderMs: Double
        public var minMs: Double
        public var gflopPerImage: Double
        public var gflops: Double
        public var sgemmPeakGflops: Double
        public var shareOfSgemmPeak: Double
        /// What ran the products: oneDNN or OpenBLAS, and OpenBLAS's kernel.
        public var engine: String
        public var kernel: String
        public var threads: Int
        /// The encoder's number format (fp32 or bf16), and why.
        public var precision: String
        public var precisionReason: String
        public var peakRSSMiB: Double
        /// Median time of the last block as the mode runs it, with the projection and the cosines.
        public var lastBlockMs: Double
        /// Median time of one earlier block (the embeddings and every block but the last, divided by their count).
        public var otherBlockMs: Double

        enum CodingKeys: String, CodingKey {
            case size, runs, engine, kernel, threads, precision
            case precisionReason = "precision_reason"
            case lastBlockMs = "last_block_ms", otherBlockMs = "other_block_ms"
            case encoderMs = "encoder_ms", minMs = "min_ms", gflopPerImage = "gflop_per_image", gflops
            case sgemmPeakGflops = "sgemm_peak_gflops", shareOfSgemmPeak = "share_of_sgemm_peak"
            case peakRSSMiB = "peak_rss_mib"
        }
    }

    /// Median time of the image path (patch embedding through dense scores; no decoding, no upsampling) on a
    /// size × size input against `classes` random classes, after one warm-up run.
    public static func encoder(model: CLIPModel, size: Int, runs: Int, classes: Int = 21,
                               options: MaskCLIPOptions = .init()) throws -> EncoderResult {
        var generator = SystemRandomNumberGenerator()
        let embeddings = randomClasses(classes, for: model)
        var sized = options
        sized.shortSide = size
        sized.longSide = max(size, options.longSide)
        let maskCLIP = try MaskCLIP(model: model, classes: embeddings, options: sized)
        let pixels = (0..<size * size * 3).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let prepared = maskCLIP.prepare(RGBImage(width: size, height: size, pixels: pixels))
        _ = maskCLIP.denseScores(prepared)
        func milliseconds(_ body: () -> Void) -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        }
        func middle(_ values: [Double]) -> Double {
            let v = values.sorted()
            return v.count % 2 == 1 ? v[v.count / 2] : (v[v.count / 2 - 1] + v[v.count / 2]) / 2
        }
        var times: [Double] = [], early: [Double] = [], last: [Double] = []
        for _ in 0..<max(runs, 1) {
            times.append(milliseconds { _ = maskCLIP.denseScores(prepared) })
            // The same path in its two parts, each timed.
            var before: (x: Matrix, scclip: CLIPVisionTransformer.SCCLIPInputs?)?
            early.append(milliseconds { before = model.vision.earlyBlocks(prepared, mode: sized.mode, settings: maskCLIP.settings) })
            last.append(milliseconds {
                let f = model.vision.lastBlock(before!.x, scclip: before!.scclip, gridHeight: prepared.gridHeight,
                                               gridWidth: prepared.gridWidth, mode: sized.mode, settings: maskCLIP.settings,
                                               keys: sized.keySmoothing > 0).features
                _ = maskCLIP.classLogits(f)
            })
        }
        times.sort()
        let median = middle(times), earlyMedian = middle(early)
        let flop = encoderFLOP(model.config, gridHeight: prepared.gridHeight, gridWidth: prepared.gridWidth, classes: classes,
                               mode: sized.mode, keySmoothing: sized.keySmoothing > 0)
        let peak = sgemmPeakGflops()
        let gflops = flop / 1e9 / (median / 1000)
        return EncoderResult(size: size, runs: times.count, encoderMs: median, minMs: times[0], gflopPerImage: flop / 1e9,
                             gflops: gflops, sgemmPeakGflops: peak, shareOfSgemmPeak: gflops / peak,
                             engine: BLAS.info.engine, kernel: BLAS.info.kernel, threads: BLAS.info.threads,
                             precision: model.precision.runs.rawValue, precisionReason: model.precision.reason,
                             peakRSSMiB: peakRSSMiB(),
                             lastBlockMs: middle(last), otherBlockMs: earlyMedian / Double(max(model.config.vision.numHiddenLayers - 1, 1)))
    }

    /// Multiply-adds × 2 of the dense image path (GEMMs and attention; element-wise work not counted).
    static func encoderFLOP(_ config: CLIPConfig, gridHeight gh: Int, gridWidth gw: Int, classes: Int, mode: DenseMode = .maskclip,
                            keySmoothing: Bool) -> Double {
        let v = config.vision
        let (hw, d, i, p, e) = (Double(gh * gw), Double(v.hiddenSize), Double(v.intermediateSize), Double(v.patchSize),
                                Double(config.projectionDim))
        let n = hw + 1
        let fullLayer = 2 * n * (4 * d * d + 2 * d * i) + 2 * 2 * n * n * d
        // The last block as the mode runs it: its projections, its N×N products (scores and weights·values), its MLP.
        let lastLayer: Double
        switch mode {
        case .maskclip: lastLayer = 2 * n * (2 * d * d + 2 * d * i) + (keySmoothing ? 2 * hw * 2 * d * d : 0)
        case .clearclip, .naclip: lastLayer = 2 * n * 3 * d * d + 2 * 2 * n * n * d
        case .sclip: lastLayer = 2 * n * (4 * d * d + 2 * d * i) + 3 * 2 * n * n * d
        case .scclip:
            // Two branches (k and v projections; k kᵀ and weights·values) and one output projection of their sum;
            // over the patches, two aggregations (N×N·D products) and the outlier distances and two similarities
            // (symmetric: `gram` does part of an N×N·D product).
            let symmetric = Double(gramMultiplyAdds(rows: gh * gw, cols: v.hiddenSize))
            lastLayer = 2 * (2 * hw * 2 * d * d + 2 * 2 * hw * hw * d) + 2 * hw * d * d + 2 * 2 * hw * hw * d + 3 * 2 * symmetric
        }
        return 2 * hw * 3 * p * p * d + Double(v.numHiddenLayers - 1) * fullLayer + lastLayer
            + 2 * hw * d * e + 2 * hw * e * Double(classes)
    }

    /// `count` random unit class embeddings for `model`: what the benchmarks label against.
    public static func randomClasses(_ count: Int, for model: CLIPModel) -> ClassEmbeddings {
        var generator = SystemRandomNumberGenerator()
        let e = model.config.projectionDim
        var table = Matrix(rows: count, cols: e, data: (0..<count * e).map { _ in Float.random(in: -1...1, using: &generator) })
        normalizeRows(&table)
        return ClassEmbeddings(classNames: (0..<count).map { "class \($0)" }, dimension: e, values: table.data,
                               modelSHA256: "", templates: "random", templateCount: 0)
    }

    /// The largest difference between the GEMM engine's product of two fixed 67×129 and 45×129 matrices (the second
    /// transposed) and the product in Double: a check that the engine in use computes what it should.
    public static func gemmCheck() -> Double {
        let (m, n, k) = (67, 45, 129)
        let a = (0..<m * k).map { Float(($0 * 37) % 101) / 50 - 1 }, b = (0..<n * k).map { Float(($0 * 53) % 97) / 48 - 1 }
        var c = [Float](repeating: 0, count: m * n)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    BLAS.sgemm(transB: true, m: m, n: n, k: k, a: pa.baseAddress!, lda: k, b: pb.baseAddress!, ldb: k,
                               c: pc.baseAddress!, ldc: n)
                }
            }
        }
        var worst = 0.0
        for i in 0..<m {
            for j in 0..<n {
                let exact = (0..<k).reduce(0.0) { $0 + Double(a[i * k + $1]) * Double(b[j * k + $1]) }
                worst = max(worst, abs(exact - Double(c[i * n + j])))
            }
        }
        return worst
    }

    /// What this machine's sgemm reaches on a large square product: the ceiling for `share_of_sgemm_peak`.
    public static func sgemmPeakGflops(size n: Int = 2048, runs: Int = 3) -> Double {
        let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
        var c = [Float](repeating: 0, count: n * n)
        var best = Double.infinity
        for _ in 0...runs {
            let start = DispatchTime.now().uptimeNanoseconds
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    c.withUnsafeMutableBufferPointer { pc in
                        BLAS.sgemm(m: n, n: n, k: n, a: pa.baseAddress!, lda: n, b: pb.baseAddress!, ldb: n,
                                   c: pc.baseAddress!, ldc: n)
                    }
                }
            }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return 2 * Double(n * n * n) / best / 1e9
    }

    /// The best of `runs` times, in ms, of the self-similarity A Aᵀ [n, n] of A [n, k] as `gram` computes it and as
    /// one full sgemm (SC-CLIP's token similarities are n = 784, k = 768 at 448²).
    public static func gramTimes(n: Int = 784, k: Int = 768, runs: Int = 20) -> (gram: Double, sgemm: Double) {
        let a = (0..<n * k).map { Float(($0 * 7919) % 1000) / 1000 - 0.5 }
        var c = [Float](repeating: 0, count: n * n)
        func best(_ body: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void) -> Double {
            var best = Double.infinity
            for _ in 0...runs {
                let start = DispatchTime.now().uptimeNanoseconds
                a.withUnsafeBufferPointer { pa in c.withUnsafeMutableBufferPointer { body(pa.baseAddress!, $0.baseAddress!) } }
                best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
            return best
        }
        let viaGram = best { gram($0, rows: n, cols: k, into: $1) }
        let viaSgemm = best { BLAS.sgemm(transB: true, m: n, n: n, k: k, a: $0, lda: k, b: $0, ldb: k, c: $1, ldc: n) }
        return (viaGram, viaSgemm)
    }

    /// Peak resident set size of this process so far.
    public static func peakRSSMiB() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}
