import ArgumentParser
import Foundation
import Inference
import LabelAPI
import Runner
import Worker

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Label a manifest on this machine: an embedded coordinator in OUT plus local workers; rerun to resume.")

    @Option(help: "A Hugging Face CLIP model directory.") var model: String
    @OptionGroup var classOptions: ClassOptions
    @Option(help: "Manifest: JSON Lines {\"id\", \"uri\"} or one path/URL per line (relative paths: from the manifest's folder).")
    var manifest: String
    @Option(help: "Output directory: labels/, classes.json, results.jsonl (and the coordinator's state in .labelmill/).")
    var out: String
    @Option(help: "Local workers (each labels one image at a time with every core).") var workers = 1
    @Option(help: "Prompt templates: maskclip85, single, or a file.") var templates = "maskclip85"
    @OptionGroup var maskCLIP: MaskCLIPFlags
    @Option(help: "Images per task.") var shardSize = 8
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.bootstrap()
        var settings = try maskCLIP.settings(templates: SubmitCommand.templateSpec(templates))
        settings.shardSize = shardSize
        try settings.validateFlags()
        let summary = try await LocalRun.run(
            LocalRunConfiguration(modelDirectory: URL(fileURLWithPath: model), classNames: try classOptions.names(), settings: settings,
                                  manifest: URL(fileURLWithPath: manifest), outputDirectory: URL(fileURLWithPath: out), workers: workers),
            logger: logger,
            progress: { status in Console.standardError.progress(StatusCommand.bar(status)) })
        Console.standardError.endProgress()
        let images = summary.job.images
        print("\(summary.job.state.rawValue): \(images.done) labeled, \(images.failed) failed of \(images.total); \(summary.exported) label maps in \(out)/labels")
        if let failure = summary.job.failure {
            FileHandle.standardError.write(Data("labelmill: the job failed: \(failure)\n".utf8))
        }
        if images.failed > 0 || summary.job.state != .done { throw ExitCode(1) }
    }
}
