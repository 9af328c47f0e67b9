import ArgumentParser
import Foundation
import Worker
import Synchronization

struct ModelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model", abstract: "Register a model with a coordinator, or download one from the Hugging Face hub.",
        subcommands: [Add.self, Fetch.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Upload a model directory to a coordinator (content-addressed) under a name.")

        @OptionGroup var client: ClientOptions
        @Option(help: "Name jobs will use.") var name: String
        @Argument(help: "Hugging Face CLIP directory.") var directory: String

        func run() async throws {
            let manifest = try await client.client().addModel(name: name, directory: URL(fileURLWithPath: directory))
            print("\(manifest.name) = \(manifest.id)")
        }
    }

    struct Fetch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download a CLIP model directory from the Hugging Face hub (resumable, size/sha checked).")

        @Argument(help: "Hub repository.") var repo = ModelFetchConfiguration.defaultRepo
        @Option(help: "Output directory.") var out: String
        @Option(help: "Hub base URL (default: $LABELMILL_HF_BASE_URL or https://huggingface.co).") var baseURL: String?
        @Option(help: "Hub token for gated repositories (default: $HF_TOKEN).") var token: String?
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let logger = logging.bootstrap()
            let environment = ProcessInfo.processInfo.environment
            let configuration = ModelFetchConfiguration(
                outputDirectory: out, repo: repo, baseURL: ModelFetchConfiguration.baseURL(flag: baseURL, environment: environment),
                token: ModelFetchConfiguration.token(flag: token, environment: environment))
            let started = ContinuousClock.now
            let bars = ProgressBars()
            let files = try await ModelFetcher.fetch(configuration, logger: logger) { progress in
                bars.draw(progress, elapsed: ContinuousClock.now - started)
            }
            Console.standardError.endProgress()
            for file in files {
                let check = file.verifiedSHA256 ? "sha256 \(file.sha256.prefix(12)) verified" : "size verified"
                print("\(file.name): \(file.size) bytes, \(file.skipped ? "already complete" : "downloaded"), \(check)")
            }
        }
    }
}

/// One progress line per file on the console, replaced as bytes arrive.
final class ProgressBars: Sendable {
    private let current = Mutex<String?>(nil)

    func draw(_ progress: FetchProgress, elapsed: Duration) {
        current.withLock { current in
            if current != progress.file {
                if current != nil { Console.standardError.endProgress() }
                current = progress.file
            }
            Console.standardError.progress(ProgressBar(label: progress.file).render(bytes: progress.bytes, total: progress.total, elapsed: elapsed))
        }
    }
}
