import ArgumentParser
import Foundation
import Inference
import LabelAPI
import LabelClient
import Runner
import Support

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Label a folder or a manifest on this machine: an embedded coordinator in OUT plus local workers.",
        discussion: """
            Ctrl-C stops at the next image: what is labeled is kept and exported, and
            running the same command again goes on from there (and tries the images that
            failed again). The model is not copied into OUT: the workers share the user's
            cache (~/.cache/labelmill).

            With --ui, the coordinator's web dashboard (jobs, live progress, the gallery of
            labels over their images) is served on 127.0.0.1 while the job runs, and after
            it until Ctrl-C; the address printed signs the browser in.

            Example:
              labelmill run --model clip-vit-base-patch16 --classes cat,dog,grass,sky \\
                --manifest photos/ --out labels/
            """)

    @Option(help: "A Hugging Face CLIP model directory.") var model: String
    @OptionGroup var classOptions: ClassOptions
    @Option(help: "A folder of images (subfolders included), or a manifest: JSON Lines {\"id\", \"uri\"} or one path/URL per line (relative paths: from the manifest's folder).")
    var manifest: String?
    @Option(help: "Instead of --manifest: WebDataset tar shards, as a brace pattern ('/data/part-{0000..0127}.tar', s3:// and http(s):// too) or a file listing them; output shards go to OUT/shards/ (docs/SHARDS.md).")
    var shards: String?
    @Option(help: "Output directory: labels/, classes.json, results.jsonl (and the coordinator's state in .labelmill/).")
    var out: String
    @Option(parsing: .unconditional, help: "Local workers (each labels one image at a time with its share of the cores).") var workers = 1
    @Option(parsing: .unconditional, help: "Compute threads of each worker (default: the cores divided among the workers).") var threads: Int?
    @Option(help: settingHelp("templates", withDefault: true, adding: " A path names a template file.")) var templates: String?
    @OptionGroup var maskCLIP: MaskCLIPFlags
    @Option(parsing: .unconditional, help: settingHelp("shardSize")) var shardSize = JobSettings().shardSize
    @Flag(help: "No progress line.") var quiet = false
    @Flag(help: "Serve the web dashboard on 127.0.0.1 while the job runs and after it, until Ctrl-C; prints its address.")
    var ui = false
    @Option(parsing: .unconditional, help: "The dashboard's port with --ui (0: any free port).") var uiPort = 0
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard (manifest == nil) != (shards == nil) else { throw ValidationError("give either --manifest (a folder or a manifest) or --shards SPEC") }
        if workers < 1 { throw ValidationError("--workers \(workers) is out of range: at least 1") }
        if let threads, threads < 1 { throw ValidationError("--threads \(threads) is out of range: at least 1") }
        if !(0...65535).contains(uiPort) { throw ValidationError("--ui-port \(uiPort) is not a port (0 to 65535)") }
    }

    func run() async throws {
        let classes = try classOptions.read()
        var settings = try maskCLIP.settings(templates: SubmitCommand.templateSpec(templates), synonyms: classes.synonyms)
        settings.shardSize = shardSize
        try settings.validateFlags()
        var shardList: [String]?
        if let shards {
            do { shardList = try ShardSpec.shards(shards) } catch { throw ValidationError("--shards \(error)") }
            settings.tarShards = true
        }
        let logger = logging.bootstrap(default: .warning)
        // The workers share this process, so one thread count serves them all: each gets its share of the cores.
        ComputeThreads.set(threads ?? max(1, ComputeThreads.available / workers))
        let stop = AtomicFlag()
        let signals = StopSignals(stop)
        defer { signals.cancel() }
        let (quiet, out) = (quiet, out)
        let dashboard = ui ? LocalDashboard(
            port: uiPort,
            opened: { address in
                Self.say("dashboard: \(address)")
                Self.say("(open it in a browser on this machine; it stays up after the job until Ctrl-C)")
            },
            finished: { summary in
                Self.report(summary, out: out)
                Self.say("the dashboard is still up: Ctrl-C to stop")
            }) : nil
        let summary = try await LocalRun.run(
            LocalRunConfiguration(modelDirectory: URL(fileURLWithPath: model), classNames: classes.names, settings: settings,
                                  manifest: URL(fileURLWithPath: manifest ?? shards ?? ""), outputDirectory: URL(fileURLWithPath: out),
                                  workers: workers, stop: stop, dashboard: dashboard, shards: shardList),
            logger: logger,
            progress: { status in if !quiet { Console.standardError.progress(StatusCommand.bar(status)) } })
        if dashboard == nil { Self.report(summary, out: out) }
        if summary.interrupted { throw ExitCode(130) }
        if summary.job.images.failed > 0 || summary.job.state != .done { throw ExitCode(1) }
    }

    /// A line on stdout, written at once (the run's lines and the dashboard's address come from other tasks, and a
    /// pipe or file would buffer `print`).
    private static func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

    /// What the run did, and what to do next.
    private static func report(_ summary: LocalRun.Summary, out: String) {
        Console.standardError.endProgress()
        let images = summary.job.images
        let labels = Wording.path(out, "labels"), maps = Wording.counted(summary.exported, "label map")
        if summary.retried > 0 { Self.say("retried \(Wording.counted(summary.retried, "image")) that had failed before") }
        if summary.interrupted {
            Self.say("interrupted: \(images.done) of \(images.total) labeled, \(images.failed) failed; \(maps) in \(labels)")
            Self.say("the rest is saved in \(Wording.path(out, ".labelmill")): run the same command again to go on")
            return
        }
        Self.say("\(summary.job.state.rawValue): \(images.done) labeled, \(images.failed) failed of \(images.total); \(maps) in \(labels)"
                 + (summary.shards > 0 ? "; \(Wording.counted(summary.shards, "output shard")) in \(Wording.path(out, "shards"))" : ""))
        if let failure = summary.job.failure {
            FileHandle.standardError.write(Data("labelmill: the job failed: \(failure)\n".utf8))
        }
        if images.failed > 0 {
            FileHandle.standardError.write(Data(("labelmill: \(Wording.counted(images.failed, "image")) failed (reasons in "
                                                 + "\(Wording.path(out, "results.jsonl"))); run again to retry them\n").utf8))
        }
    }
}
