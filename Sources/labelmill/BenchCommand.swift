import ArgumentParser
import Foundation
import Inference
import LabelAPI
import Runner

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Print speed figures.",
        discussion: "Example:\n  labelmill bench encoder --model clip-vit-base-patch16 --size 448",
        subcommands: [Encoder.self, Pipeline.self, Text.self, Blas.self, CoordinatorLoad.self, Pamr.self])

    struct Pamr: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Median ms of PAMR refinement on random scores (NACLIP's setting: 10 iterations, dilations 8 and 16).",
            discussion: "Example:\n  labelmill bench pamr --width 500 --height 375 --classes 21")

        @Option(help: "Image width.") var width = 500
        @Option(help: "Image height.") var height = 375
        @Option(help: "Classes.") var classes = 21
        @Option(help: "Iterations.") var iterations = 10
        @Option(help: "Dilations, comma-separated.") var dilations = "8,16"
        @Option(help: "Timed runs (after one warm-up).") var runs = 5
        @OptionGroup var logging: LoggingOptions

        func run() throws {
            _ = logging.bootstrap()
            let list = dilations.split(separator: ",").compactMap { Int($0) }
            guard !list.isEmpty, list.allSatisfy({ $0 >= 1 }), width >= 1, height >= 1, classes >= 1, iterations >= 0 else {
                throw ValidationError("give positive sizes, classes and dilations")
            }
            let r = Benchmark.pamr(width: width, height: height, classes: classes, iterations: iterations, dilations: list, runs: runs)
            print(String(format: "pamr %d×%d, %d classes, %d iterations, dilations %@: median %.1f ms (min %.1f) over %d runs, %d threads",
                         width, height, classes, iterations, dilations, r.medianMs, r.minMs, runs, ComputeThreads.count))
        }
    }

    struct Encoder: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Median ms of the image path (patch embedding through dense scores) on an S×S input.",
            discussion: "Example:\n  labelmill bench encoder --model clip-vit-base-patch16 --size 448 --runs 10")

        @Option(help: "A Hugging Face CLIP model directory.") var model: String
        @Option(help: "Input side in pixels.") var size = 448
        @Option(help: "Timed runs (after one warm-up).") var runs = 10
        @Option(help: "Number of random classes.") var classes = 21
        @Option(help: "Key-smoothing threshold (0 = off; mode maskclip only).") var keySmoothing: Float = 0
        @Option(help: "Dense mode: maskclip, clearclip, sclip, naclip or scclip.") var mode: DenseMode = .maskclip
        @Option(help: "The encoder's number format: fp32, bf16 or auto (bf16 where it is faster).") var precision: Precision = .fp32
        @Option(help: "Compute threads (default: the CPUs this process may use).") var threads: Int?
        @Flag(help: "End with one JSON line.") var json = false
        @OptionGroup var logging: LoggingOptions

        func run() throws {
            _ = logging.bootstrap()
            ComputeThreads.set(threads)
            let clip = try CLIPModel(directory: URL(fileURLWithPath: model), precision: precision)
            let r = try Benchmark.encoder(model: clip, size: size, runs: runs, classes: classes,
                                          options: MaskCLIPOptions(mode: mode, keySmoothing: keySmoothing))
            print(String(format: "encoder (%@) %d×%d: median %.1f ms (min %.1f) over %d runs, %.1f GFLOP, %.1f GFLOP/s",
                         mode.rawValue, r.size, r.size, r.encoderMs, r.minMs, r.runs, r.gflopPerImage, r.gflops))
            print("precision \(clip.precision)")
            print(String(format: "GEMM %@ (OpenBLAS kernel %@), %d threads; sgemm peak %.1f GFLOP/s (%.0f%% of it); peak RSS %.0f MiB",
                         r.engine, r.kernel, r.threads, r.sgemmPeakGflops, 100 * r.shareOfSgemmPeak, r.peakRSSMiB))
            print(String(format: "last block (with projection and cosines) %.1f ms; an earlier block %.1f ms (embeddings spread over them; medians)",
                         r.lastBlockMs, r.otherBlockMs))
            if json { print(String(decoding: try JSONEncoder().encode(r), as: UTF8.self)) }
        }
    }

    struct Text: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time to embed a class list (default: VOC's 21 classes) × a template set.",
            discussion: "Example:\n  labelmill bench text --model clip-vit-base-patch16")

        @Option(help: "A Hugging Face CLIP model directory.") var model: String
        @Option(help: "Prompt templates.") var templates = "maskclip85"
        @Flag(help: "End with one JSON line.") var json = false
        @OptionGroup var logging: LoggingOptions

        func run() throws {
            _ = logging.bootstrap()
            let clip = try CLIPModel(directory: URL(fileURLWithPath: model), use: .textOnly)
            let r = try Benchmark.text(model: clip, templates: try PromptTemplates.named(templates))
            print(String(format: "text: %d classes × %d templates = %d prompts in %.2f s", r.classes, r.templates, r.prompts, r.seconds))
            if json { print(String(decoding: try JSONEncoder().encode(r), as: UTF8.self)) }
        }
    }

    struct Blas: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Which GEMM engine and OpenBLAS kernel run (after labelmill's check for a generic one), their sgemm GFLOP/s, and SC-CLIP's symmetric product against one sgemm.",
            discussion: "Example:\n  labelmill bench blas --size 2048")

        @Option(help: "Square sgemm size.") var size = 2048
        @Option(help: "Compute threads (default: the CPUs this process may use).") var threads: Int?
        @Flag(help: "End with one JSON line.") var json = false
        @OptionGroup var logging: LoggingOptions

        func run() throws {
            _ = logging.bootstrap()
            ComputeThreads.set(threads)
            let info = BLAS.info
            let gflops = Benchmark.sgemmPeakGflops(size: size)
            let check = Benchmark.gemmCheck()
            print(String(format: "%@; sgemm %d³: %.1f GFLOP/s; a fixed 67×45×129 product is within %.1e of exact", info.description,
                         size, gflops, check))
            let gram = Benchmark.gramTimes()
            print(String(format: "self-similarity 784×768 (SC-CLIP's token similarities): %.2f ms as a symmetric product, %.2f ms as one sgemm",
                         gram.gram, gram.sgemm))
            if json {
                struct Report: Encodable {
                    let engine: String; let kernel: String; let replaced: String?; let threads: Int; let sgemm_gflops: Double
                    let gemm_check: Double; let gram_ms: Double; let gram_as_sgemm_ms: Double
                }
                let report = Report(engine: info.engine, kernel: info.kernel, replaced: info.replaced, threads: info.threads,
                                    sgemm_gflops: gflops, gemm_check: check, gram_ms: gram.gram, gram_as_sgemm_ms: gram.sgemm)
                print(String(decoding: try JSONEncoder().encode(report), as: UTF8.self))
            }
        }
    }

    struct CoordinatorLoad: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "coordinator",
            abstract: "A coordinator on loopback driven by N concurrent HTTP clients doing claim + complete: tasks/s and claim latency.",
            discussion: "Example:\n  labelmill bench coordinator --clients 64 --tasks 30000\n  labelmill bench coordinator --clients 16 --tasks 5000 \\\n    --images-per-task 8 --labels")

        @Option(help: "Concurrent clients.") var clients = 64
        @Option(help: "Tasks to claim and complete.") var tasks = 30_000
        @Option(help: "Images per task (the job has tasks × this many images).") var imagesPerTask = 1
        @Option(help: "Long-polling workers alongside the clients (and alone for 10 s afterwards).") var idle = 0
        @Flag(help: "Each client also uploads a thumbnail and a label map for every image, as a worker does.") var labels = false
        @Flag(help: "End with one JSON line.") var json = false

        func run() async throws {
            let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
            let r = try await CoordinatorBenchmark.run(clients: clients, tasks: tasks, imagesPerTask: imagesPerTask, idle: idle,
                                                        labels: labels, executable: executable)
            if labels { print("every image got a thumbnail (64x48 JPEG) and a label map (64x48, 4 classes and void) upload") }
            print(String(format: "%d tasks by %d clients in %.2f s: %.0f tasks/s; claim p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.1f ms; complete p99 %.2f ms",
                         r.tasks, r.clients, r.seconds, r.tasksPerSecond, r.claimP50Ms, r.claimP90Ms, r.claimP99Ms, r.claimMaxMs, r.completeP99Ms))
            print(String(format: "coordinator RSS %.0f MiB (peak %.0f MiB), CPU %.0f µs per task", r.coordinatorRSSMiB, r.coordinatorPeakRSSMiB, r.coordinatorCPUMicrosecondsPerTask))
            print(String(format: "job of %d images created in %.2f s; results.jsonl served in %.2f s; database %.1f MiB",
                         r.images, r.createSeconds, r.resultsSeconds, r.databaseMiB))
            if idle > 0 {
                print(String(format: "%d long-polling workers took %d tasks; alone, they cost the coordinator %.1f%% of a core",
                             r.idleWorkers, r.idleWorkerTasks, r.idleCPUPercent))
            }
            if json { print(String(decoding: try JSONEncoder().encode(r), as: UTF8.self)) }
        }
    }
}
