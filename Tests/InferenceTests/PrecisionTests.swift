import Foundation
import LabelAPI
import Testing
import Inference

/// `--precision` (docs/PRECISION.md): which format runs where, bf16 products that are exactly "bf16 inputs,
/// fp32 accumulation", an encoder in bf16 that agrees with fp32 wherever fp32's margin is clear, and the GEMM
/// engines agreeing with each other.
@Suite struct PrecisionTests {
    static var bf16Here: Bool { OneDNN.bf16Support != .none }

    @Test func theRuleForEachRequestAndMachine() {
        func runs(_ asked: Precision, _ support: OneDNN.BF16Support, loaded: Bool = true, ratio: Double = 0.5) -> Precision {
            Precision.resolve(asked, support: support, oneDNNLoaded: loaded, speedRatio: { ratio }).runs
        }
        #expect(runs(.fp32, .amx) == .fp32)
        #expect(runs(.bf16, .avx512) == .bf16)
        #expect(runs(.bf16, .amx) == .bf16)
        #expect(runs(.bf16, .none) == .fp32)
        #expect(runs(.bf16, .none, loaded: false) == .fp32)
        #expect(runs(.auto, .amx) == .bf16)
        #expect(runs(.auto, .none) == .fp32)
        // AVX512-BF16 without AMX: auto takes bf16 only where its dot products outrun fp32's FMAs.
        #expect(runs(.auto, .avx512, ratio: 0.48) == .fp32)
        #expect(runs(.auto, .avx512, ratio: 1.9) == .bf16)
        let fallback = Precision.resolve(.bf16, support: .none, oneDNNLoaded: false, speedRatio: { 1 })
        #expect(fallback.reason.contains("libdnnl2"))
        let measured = Precision.resolve(.auto, support: .avx512, oneDNNLoaded: true, speedRatio: { 0.48 })
        #expect(measured.reason.contains("0.48×"), "\(measured.reason)")
    }

    @Test func bf16RoundingIsToNearestEven() {
        #expect(Precision.roundedToBF16(1.0) == 1.0)
        // 1 + 2⁻⁸ lies halfway between two bf16 values (1 and 1 + 2⁻⁷): ties go to the even one, 1.
        #expect(Precision.roundedToBF16(1 + 1.0 / 256) == 1.0)
        #expect(Precision.roundedToBF16(1 + 3.0 / 256) == 1 + 4.0 / 256)
        #expect(Precision.roundedToBF16(-3.14159) == -3.140625)
    }

    @Test(.enabled(if: PrecisionTests.bf16Here, "no bf16 matrix products here (oneDNN with AVX512-BF16 or AMX)"))
    func bf16LinearIsRoundedInputsAccumulatedInFP32() {
        var generator = ImageTestRNG(state: 7)
        let (rows, inputs, outputs) = (37, 96, 29)
        let x = Matrix(rows: rows, cols: inputs, data: (0..<rows * inputs).map { _ in Float.random(in: -1..<1, using: &generator) })
        let w = (0..<outputs * inputs).map { _ in Float.random(in: -1..<1, using: &generator) * 0.2 }
        let b = (0..<outputs).map { _ in Float.random(in: -1..<1, using: &generator) }
        w.withUnsafeBufferPointer { wp in
            b.withUnsafeBufferPointer { bp in
                let weight = Tensor(wp.baseAddress!, shape: [outputs, inputs])
                let bias = Tensor(bp.baseAddress!, shape: [outputs])
                let fp32 = linear(x, weight: weight, bias: bias)
                let bf16 = linear(x, weight: weight.withBF16(), bias: bias)
                var exact = [Float](repeating: 0, count: rows * outputs)
                for r in 0..<rows {
                    for o in 0..<outputs {
                        var sum = Double(b[o])
                        for i in 0..<inputs {
                            sum += Double(Precision.roundedToBF16(x.data[r * inputs + i])) * Double(Precision.roundedToBF16(w[o * inputs + i]))
                        }
                        exact[r * outputs + o] = Float(sum)
                    }
                }
                #expect(maxAbsDifference(bf16.data, exact) < 2e-5, "bf16 products summed in fp32")
                #expect(maxAbsDifference(fp32.data, exact) > 1e-3, "the fp32 path does not round its inputs")
            }
        }
    }

    @Test(.enabled(if: PrecisionTests.bf16Here, "no bf16 matrix products here (oneDNN with AVX512-BF16 or AMX)"))
    func bf16EncoderAgreesWithFP32WhereTheMarginIsClear() throws {
        let fp32Model = try TestFixtures.tinyModel.get()
        let bf16Model = try CLIPModel(directory: TestFixtures.tinyModelDirectory, precision: .bf16)
        #expect(bf16Model.precision.runs == .bf16)
        let classes = try GoldenTests.classEmbeddings("maskclip85")
        let options = MaskCLIPOptions(shortSide: 48, promptDenoise: 0)
        let fp32 = try MaskCLIP(model: fp32Model, classes: classes, options: options)
        let bf16 = try MaskCLIP(model: bf16Model, classes: classes, options: options)
        for file in ["img_a.png", "img_b.jpg", "img_c.png"] {
            let prepared = fp32.prepare(try TestFixtures.goldenImage(file))
            let (a, b) = (fp32.denseScores(prepared).logits, bf16.denseScores(prepared).logits)
            let difference = maxAbsDifference(a.data, b.data)
            #expect(difference > 0, "\(file): bf16 ran")
            #expect(difference < 0.02, "\(file): cosines within \(difference)")
            var clear = 0
            for p in 0..<a.rows {
                let row = Array(a.data[p * a.cols..<(p + 1) * a.cols])
                let order = row.indices.sorted { row[$0] > row[$1] }
                guard row[order[0]] - row[order[1]] > 2 * difference else { continue }
                clear += 1
                let other = Array(b.data[p * b.cols..<(p + 1) * b.cols])
                #expect(other.indices.max { other[$0] < other[$1] } == order[0], "\(file) patch \(p)")
            }
            #expect(clear > a.rows / 2, "\(file): \(clear) of \(a.rows) patches have a clear margin")
        }
    }

    struct Reported: Decodable {
        let engine: String
        let threads: Int
        let gemm_check: Double
    }

    /// `labelmill bench blas --json` in a fresh process: which engine runs the products with how many threads, and
    /// how far its product of two fixed matrices is from the exact one.
    static func reported(_ environment: [String: String], cpus: String? = nil, arguments: [String] = []) throws -> Reported {
        try BLASTests.benchBlas(environment, cpus: cpus, arguments: arguments)
    }

    /// The deployments divide a host's cores with CPUAffinity= (systemd) or a CPU limit (Kubernetes): a worker
    /// must start no more compute threads than it may run on, unless told.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: BLASTests.taskset), "no taskset here"))
    func threadsFollowTheAffinityMaskAndTheFlag() throws {
        #expect(try Self.reported([:], cpus: "0").threads == 1)
        #expect(try Self.reported([:], cpus: "0", arguments: ["--threads", "3"]).threads == 3)
        #expect(try Self.reported([:]).threads == ComputeThreads.available)
    }

    @Test func bothEnginesRunAndAgree() throws {
        let openBLAS = try Self.reported(["LABELMILL_GEMM": "openblas"])
        #expect(openBLAS.engine == "OpenBLAS")
        #expect(openBLAS.gemm_check < 1e-4)
        let preferred = try Self.reported([:])
        #expect(preferred.engine == (OneDNN.isLoaded ? "oneDNN" : "OpenBLAS"))
        #expect(preferred.gemm_check < 1e-4)
    }
}
