import ArgumentParser
import Foundation
import Inference
import LabelAPI
import Runner
import Worker

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Label a folder or a manifest on this machine: an embedded coordinator in OUT plus local workers.",
        discussion: """
            Ctrl-C stops at the next image: what is labeled is kept and exported, and running the same command
            again goes on from there (and tries the images that failed again). The model is not copied into OUT:
            the workers share the user's cache (~/.cache/labelmill).

            Example:
              labelmill run --model clip-vit-base-patch16 --classes cat,dog,grass,sky --manifest photos/ --out labels/
            """)

    @Option(help: "A Hugging Face CLIP model directory.") var model: String
    @OptionGroup var classOptions: ClassOptions
    @Option(help: "A folder of images (subfolders included), or a manifest: JSON Lines {\"id\", \"uri\"} or one path/URL per line (relative paths: from the manifest's folder).")
    var manifest: String
    @Option(help: "Output directory: labels/, classes.json, results.jsonl (and the coordinator's state in .labelmill/).")
    var out: String
    @Option(parsing: .unconditional, help: "Local workers (each labels one image at a time with every core).") var workers = 1
    @Option(help: "Prompt templates: maskclip85, single, or a file.") var templates = "maskclip85"
    @OptionGroup var maskCLIP: MaskCLIPFlags
    @Option(parsing: .unconditional, help: "Images per task.") var shardSize = 8
    @Flag(help: "No progress line.") var quiet = false
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if workers < 1 { throw ValidationError("--workers \(workers) is out of range: at least 1") }
    }

    func run() async throws {
        var settings = try maskCLIP.settings(templates: SubmitCommand.templateSpec(templates))
        settings.shardSize = shardSize
        try settings.validateFlags()
        let logger = logging.bootstrap()
        let stop = AtomicFlag()
        let signals = StopSignals(stop)
        defer { signals.cancel() }
        let quiet = quiet
        let summary = try await LocalRun.run(
            LocalRunConfiguration(modelDirectory: URL(fileURLWithPath: model), classNames: try classOptions.names(), settings: settings,
                                  manifest: URL(fileURLWithPath: manifest), outputDirectory: URL(fileURLWithPath: out), workers: workers,
                                  stop: stop),
            logger: logger,
            progress: { status in if !quiet { Console.standardError.progress(StatusCommand.bar(status)) } })
        Console.standardError.endProgress()
        let images = summary.job.images
        if summary.retried > 0 { print("retried \(summary.retried) images that had failed before") }
        if summary.interrupted {
            print("interrupted: \(images.done) of \(images.total) labeled, \(images.failed) failed; \(summary.exported) label maps in \(out)/labels")
            print("the rest is saved in \(out)/.labelmill: run the same command again to go on")
            throw ExitCode(130)
        }
        print("\(summary.job.state.rawValue): \(images.done) labeled, \(images.failed) failed of \(images.total); \(summary.exported) label maps in \(out)/labels")
        if let failure = summary.job.failure {
            FileHandle.standardError.write(Data("labelmill: the job failed: \(failure)\n".utf8))
        }
        if images.failed > 0 {
            FileHandle.standardError.write(Data("labelmill: \(images.failed) images failed (reasons in \(out)/results.jsonl); run again to retry them\n".utf8))
        }
        if images.failed > 0 || summary.job.state != .done { throw ExitCode(1) }
    }
}
