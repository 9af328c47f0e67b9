import Foundation
import Inference

/// `labelmill bench pipeline`: images per second through the worker's own stages (`InferenceRunner`) on real
/// photos: decode, resize, encoder, head, upsample, PNG encode, with no network. Figures, printed, never asserted
/// by tests.
public enum PipelineBenchmark {
    public struct Result: Codable, Sendable {
        public var images: Int
        public var passes: Int
        /// The worker's pipeline: the next image decoded and the last one's PNG encoded while MaskCLIP runs.
        public var overlappedImagesPerSecond: Double
        /// The same stages one after another, for comparison.
        public var sequentialImagesPerSecond: Double
        public var precision: String
        public var engine: String
        public var threads: Int
        public var peakRSSMiB: Double

        enum CodingKeys: String, CodingKey {
            case images, passes, precision, engine, threads
            case overlappedImagesPerSecond = "images_per_second", sequentialImagesPerSecond = "sequential_images_per_second"
            case peakRSSMiB = "peak_rss_mib"
        }
    }

    /// Labels every file of `files` (read into memory first) `passes` times each way, after one warm-up image.
    public static func run(model: CLIPModel, files: [URL], options: MaskCLIPOptions, classes: Int = 21, passes: Int = 1) async throws -> Result {
        let maskCLIP = try MaskCLIP(model: model, classes: Benchmark.randomClasses(classes, for: model), options: options)
        let inputs = try files.map { try [UInt8](Data(contentsOf: $0)) }
        guard !inputs.isEmpty else { throw InferenceError(.badArgument, "no images to time") }
        let work = Array(repeating: inputs, count: max(passes, 1)).flatMap { $0 }
        let runner = InferenceRunner()
        let maxPixels = ImageCodec.defaultMaxPixels

        // The protocol of scripts/bench_torch.py --pipeline: no thumbnails (the worker also makes one per image).
        func decode(_ bytes: [UInt8]) async throws -> InferenceRunner.Decoded {
            try await runner.decode(bytes, maxPixels: maxPixels, thumbnail: false)
        }
        let warm = try await decode(inputs[0])
        _ = try await runner.encode(try await runner.label(warm, with: maskCLIP), of: warm)

        let sequential = try await seconds {
            for bytes in work {
                let decoded = try await decode(bytes)
                _ = try await runner.encode(try await runner.label(decoded, with: maskCLIP), of: decoded)
            }
        }
        let overlapped = try await seconds {
            var next: Task<InferenceRunner.Decoded, any Error>? = Task { try await decode(work[0]) }
            var encoding: Task<InferenceRunner.Labeled, any Error>?
            for index in work.indices {
                let decoded = try await next!.value
                next = index + 1 < work.count ? Task { [bytes = work[index + 1]] in try await decode(bytes) } : nil
                let labeled = try await runner.label(decoded, with: maskCLIP)
                _ = try await encoding?.value
                encoding = Task { try await runner.encode(labeled, of: decoded) }
            }
            _ = try await encoding?.value
        }
        return Result(images: inputs.count, passes: max(passes, 1), overlappedImagesPerSecond: Double(work.count) / overlapped,
                      sequentialImagesPerSecond: Double(work.count) / sequential, precision: model.precision.runs.rawValue,
                      engine: BLAS.info.engine, threads: ComputeThreads.count, peakRSSMiB: Benchmark.peakRSSMiB())
    }

    private static func seconds(_ body: () async throws -> Void) async throws -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try await body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
}
