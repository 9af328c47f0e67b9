import ArgumentParser
import Foundation
import Inference
import LabelAPI
import Worker

extension BenchCommand {
    struct Pipeline: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Images per second through the worker's stages on real photos: decode, resize, encoder, head, upsample, PNG encode.",
            discussion: """
                The worker's pipeline decodes the next image and encodes the last one's PNG
                while MaskCLIP runs; the same stages one after another are timed too. With
                --torch-python, scripts/bench_torch.py --pipeline then runs the same protocol
                in PyTorch on the same images, and the ratio is printed.

                Example:
                  labelmill bench pipeline --model clip-vit-base-patch16 \\
                    --images examples/images --torch-python .venv/bin/python
                """)

        @Option(help: "A Hugging Face CLIP model directory.") var model: String
        @Option(help: "A folder of JPEG and PNG photos.") var images: String
        @Option(help: "Resize so the short side is this long.") var shortSide = 448
        @Option(help: "Times each image is labeled each way.") var passes = 2
        @Option(help: "The encoder's number format: fp32, bf16 or auto.") var precision: Precision = .fp32
        @Option(help: "Compute threads (default: the CPUs this process may use).") var threads: Int?
        @Option(help: "A Python with torch and Pillow: also time scripts/bench_torch.py --pipeline on the same images.") var torchPython: String?
        @Option(help: "The PyTorch script.") var torchScript = "scripts/bench_torch.py"
        @Flag(help: "End with one JSON line.") var json = false
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            _ = logging.bootstrap()
            ComputeThreads.set(threads)
            let files = try ImageFolder.images(in: URL(fileURLWithPath: images)).map { URL(fileURLWithPath: $0.path) }.sorted { $0.path < $1.path }
            let clip = try CLIPModel(directory: URL(fileURLWithPath: model), precision: precision)
            let options = MaskCLIPOptions(shortSide: shortSide, longSide: 2048, promptDenoise: 0)
            let r = try await PipelineBenchmark.run(model: clip, files: files, options: options, passes: passes)
            print(String(format: "pipeline (maskclip, short side %d, %d photos × %d passes): %.2f images/s overlapped, %.2f one stage after another",
                         shortSide, r.images, r.passes, r.overlappedImagesPerSecond, r.sequentialImagesPerSecond))
            print("precision \(clip.precision); GEMM \(r.engine), \(r.threads) threads; " + String(format: "peak RSS %.0f MiB", r.peakRSSMiB))
            var report = Report(labelmill: r, torch: nil, ratio: nil)
            if let torchPython {
                let torch = try Self.torch(python: torchPython, script: torchScript, model: model, images: images,
                                           shortSide: shortSide, passes: passes, threads: r.threads)
                report.torch = torch
                report.ratio = r.overlappedImagesPerSecond / torch.imagesPerSecond
                print(String(format: "PyTorch %@ (%@, fp32): %.2f images/s, peak RSS %.0f MiB; labelmill/PyTorch %.2f×",
                             torch.version, torch.attention, torch.imagesPerSecond, torch.peakRSSMiB, report.ratio!))
            }
            if json { print(String(decoding: try JSONEncoder().encode(report), as: UTF8.self)) }
        }

        struct Torch: Codable {
            var imagesPerSecond: Double
            var peakRSSMiB: Double
            var version: String
            var attention: String
            enum CodingKeys: String, CodingKey {
                case imagesPerSecond = "images_per_second", peakRSSMiB = "peak_rss_mib", version = "torch", attention
            }
        }

        struct Report: Encodable {
            var labelmill: PipelineBenchmark.Result
            var torch: Torch?
            var ratio: Double?
        }

        static func torch(python: String, script: String, model: String, images: String, shortSide: Int, passes: Int,
                          threads: Int) throws -> Torch {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = [script, "--model", model, "--pipeline", images, "--size", "\(shortSide)",
                                 "--runs", "\(passes)", "--threads", "\(threads)"]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let output = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0,
                  let line = String(decoding: output, as: UTF8.self).split(separator: "\n").last else {
                throw ValidationError("\(python) \(script) --pipeline failed (exit \(process.terminationStatus))")
            }
            return try JSONDecoder().decode(Torch.self, from: Data(line.utf8))
        }
    }
}
