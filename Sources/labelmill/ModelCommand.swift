import ArgumentParser
import Foundation
import LabelAPI
import LabelClient
import Synchronization

struct ModelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model", abstract: "Register a model with a coordinator, list them, or download one from the Hugging Face hub.",
        discussion: "Example:\n  labelmill model fetch openai/clip-vit-base-patch16 --out clip-vit-base-patch16",
        subcommands: [Add.self, List.self, Fetch.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Upload a model directory to a coordinator (content-addressed) under a name.",
            discussion: "Example:\n  labelmill model add --coordinator http://10.0.0.5:8080 --token-file token \\\n    --name clip-b16 clip-vit-base-patch16")

        @OptionGroup var client: ClientOptions
        @Option(help: "Name jobs will use.") var name: String
        @Argument(help: "Hugging Face CLIP directory.") var directory: String

        func run() async throws {
            let manifest = try await client.client().addModel(name: name, directory: URL(fileURLWithPath: directory))
            print("\(manifest.name) = \(manifest.id)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The models a coordinator has, by name.",
            discussion: "Example:\n  labelmill model list --coordinator http://10.0.0.5:8080 --token-file token")

        @OptionGroup var client: ClientOptions

        func run() async throws {
            for model in try await client.client().models() {
                let bytes = model.files.map(\.size).reduce(0, +)
                print("\(model.name)  \(model.id.prefix(12))  \(model.files.count) files  \(String(format: "%.1f MB", Double(bytes) / 1e6))")
            }
        }
    }

    struct Fetch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download a CLIP model directory from the Hugging Face hub (resumable, size/sha checked).",
            discussion: "Example:\n  labelmill model fetch openai/clip-vit-base-patch16 --out clip-vit-base-patch16")

        @Argument(help: "Hub repository.") var repo = ModelFetchConfiguration.defaultRepo
        @Option(help: "Output directory.") var out: String
        @Option(help: "Hub base URL (default: $LABELMILL_HF_BASE_URL or https://huggingface.co).") var baseURL: String?
        @Option(help: "File holding a hub token for gated repositories (default: the HF_TOKEN environment variable).")
        var tokenFile: String?
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let logger = logging.bootstrap(default: .error)  // a person at a terminal: the progress and one line at the end
            let environment = ProcessInfo.processInfo.environment
            let configuration = ModelFetchConfiguration(
                outputDirectory: out, repo: repo, baseURL: ModelFetchConfiguration.baseURL(flag: baseURL, environment: environment),
                token: try hubToken(environment))
            let started = ContinuousClock.now
            let bars = ProgressBars()
            let files: [FetchedFile]
            do {
                files = try await ModelFetcher.fetch(configuration, logger: logger) { progress in
                    bars.draw(progress, elapsed: ContinuousClock.now - started)
                }
            } catch {
                Console.standardError.endProgress()
                throw Self.explained(error, baseURL: configuration.baseURL)
            }
            Console.standardError.endProgress()
            for file in files {
                let check = file.verifiedSHA256 ? "sha256 \(file.sha256.prefix(12)) verified" : "size verified"
                print("\(file.name): \(file.size) bytes, \(file.skipped ? "already complete" : "downloaded"), \(check)")
            }
        }
    }
}

extension ModelCommand.Fetch {
    /// A hub that cannot be reached is most often a machine without internet: say what works without it.
    static func explained(_ error: any Error, baseURL: String) -> any Error {
        guard let curl = error as? CurlError, curl.code == .couldNotConnect else { return error }
        return CLIError("\(baseURL) cannot be reached (\(curl.message)): without internet, use a CLIP directory you "
                        + "already have (`--model DIR`), or the tiny test model (`scripts/label-example --offline`)")
    }

    /// The hub token from `--token-file`, else `HF_TOKEN`: never from the command line, where other users of the
    /// machine could read it.
    func hubToken(_ environment: [String: String]) throws -> String? {
        guard let tokenFile else { return ModelFetchConfiguration.token(flag: nil, environment: environment) }
        guard let token = TokenFile.read(tokenFile) else { throw CLIError("cannot read a hub token from \(tokenFile)") }
        return token
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
