import ArgumentParser
import Foundation
import Inference
import LabelAPI
import LabelClient
import Support

struct SubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit", abstract: "Submit a labeling job; prints its id.",
        discussion: """
            Relative paths in the manifest are read by the coordinator from its
            --image-root; absolute paths and file:// URLs by each worker from its own disk;
            http(s) URLs and s3://bucket/key objects by the workers (s3:// with each
            worker's own AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or
            AWS_PROFILE and ~/.aws/credentials; AWS_ENDPOINT_URL for MinIO, R2, Ceph and
            other S3-compatible stores). --from lists an s3:// prefix with this machine's
            credentials and submits the objects found; the coordinator only ever sees the
            s3:// URIs.

            --output s3://bucket/prefix/ (or file:///shared/folder/ that every worker
            mounts) has the workers write the labels there, with their own credentials,
            and send the coordinator a receipt of each; `labelmill verify JOB` checks the
            storage against the receipts, and `labelmill export` reads from there.

            Class names are checked against every export format here: a name a format
            cannot carry (for cvat: "background", or a ':' or '#' in it) gets a note now,
            while it can still change, and is refused by that export later.

            Examples:
              labelmill submit --coordinator http://10.0.0.5:8080 --token-file token \\
                --model clip-b16 --manifest images.jsonl --classes-file classes.txt
              labelmill submit --model clip-b16 --classes-file classes.txt \\
                --from s3://photos/2026/ --pattern '*.jpg'
            """)

    @OptionGroup var client: ClientOptions

    @Option(help: "Model name or id (registered with `labelmill model add`).")
    var model: String

    @Option(help: "Manifest: JSON Lines {\"id\", \"uri\"} or one path/URL per line.")
    var manifest: String?

    @Option(help: "Instead of --manifest: WebDataset tar shards, as a brace pattern ('s3://b/train-{000000..009999}.tar', paths, http(s):// URLs) or a file listing them; each shard is one task, its labels an output shard of the same name (docs/SHARDS.md).")
    var shards: String?
    @Option(help: "Instead of --manifest: every image under an s3://bucket/prefix/ (ids: the keys after the prefix, without extension, / as _).")
    var from: String?

    @Option(help: "With --from: a shell pattern for the keys after the prefix (default: .jpg, .jpeg and .png; * also matches /).")
    var pattern: String?

    @OptionGroup var classOptions: ClassOptions

    @Option(help: settingHelp("templates", withDefault: true, adding: " A path names a template file."))
    var templates: String?

    @OptionGroup var maskCLIP: MaskCLIPFlags
    @Option(parsing: .unconditional, help: settingHelp("shardSize")) var shardSize = JobSettings().shardSize
    @Option(parsing: .unconditional, help: settingHelp("maxAttempts"))
    var maxAttempts = JobSettings().maxAttempts
    @Option(parsing: .unconditional, help: settingHelp("leaseSeconds")) var leaseSeconds = JobSettings().leaseSeconds
    @Option(help: settingHelp("output"))
    var output: String?
    @Option(help: "Job name.") var name: String?
    @Option(help: "Idempotency key: submitting again with the same key returns the same job (default: a new one per run, so a retried request never makes a second job).")
    var idempotencyKey: String?
    @Flag(help: "Print {\"id\": ...} as JSON.") var json = false

    func validate() throws {
        guard [manifest, from, shards].compactMap({ $0 }).count == 1 else {
            throw ValidationError("give one of --manifest FILE, --from s3://bucket/prefix/ or --shards SPEC")
        }
        if pattern != nil && from == nil { throw ValidationError("--pattern goes with --from") }
        if let output {
            do { _ = try OutputLocation(output) } catch { throw ValidationError("--output \(output.debugDescription): \(error.allowed)") }
        }
        if let from {
            guard S3Location.isS3(from) else { throw ValidationError("--from \(from): give an s3://bucket/prefix/ to list") }
            do { _ = try S3Location.parse(from) } catch { throw ValidationError("--from \(error)") }
        }
    }

    func run() async throws {
        if let manifest, !FileManager.default.isReadableFile(atPath: manifest) {
            throw CLIError("cannot read the manifest \(manifest): no such file, or not readable")
        }
        let classes = try classOptions.read()
        Self.noteExportLimits(classes.names)
        var settings = try maskCLIP.settings(templates: Self.templateSpec(templates), synonyms: classes.synonyms)
        (settings.shardSize, settings.maxAttempts, settings.leaseSeconds) = (shardSize, maxAttempts, leaseSeconds)
        settings.output = output
        try settings.validateFlags()
        let coordinator = try client.client()
        // The manifest streams up first (any size), then the job refers to it.
        let upload: String
        if let manifest {
            upload = try await coordinator.uploadManifest(file: manifest)
        } else if let shards {
            let list: [String]
            do { list = try ShardSpec.shards(shards) } catch { throw CLIError("--shards \(error)") }
            settings.tarShards = true
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("labelmill-shards-\(UUID().uuidString).txt").path
            defer { try? FileManager.default.removeItem(atPath: file) }
            try AtomicFile.write(Array((list.joined(separator: "\n") + "\n").utf8), to: file, durable: false)
            upload = try await coordinator.uploadManifest(file: file)
        } else {
            upload = try await uploadListing(try S3Location.parse(from ?? ""), to: coordinator)
        }
        // The coordinator reads the manifest in the background; a large one takes a while, shown on stderr.
        var lastShown = ContinuousClock.now
        let response = try await coordinator.createJob(CreateJobRequest(
            name: name, model: model, classes: classes.names, settings: settings,
            idempotencyKey: idempotencyKey, manifestUpload: upload)) { status in
            guard let preparation = status.preparation, ContinuousClock.now - lastShown >= .seconds(2) else { return }
            lastShown = ContinuousClock.now
            let percent = preparation.bytesTotal > 0 ? 100 * Double(preparation.bytesRead) / Double(preparation.bytesTotal) : 0
            FileHandle.standardError.write(Data(String(format: "%@: reading the manifest, %.0f%% (%d lines)\n",
                                                       status.id, percent, preparation.linesRead).utf8))
        }
        if json { try printJSON(["id": response.id]) } else { print(response.id) }
    }

    /// The objects under `prefix` as a manifest, listed into a temporary file and uploaded from it.
    private func uploadListing(_ prefix: S3Location, to coordinator: CoordinatorClient) async throws -> String {
        let s3 = S3Client(configuration: try S3Configuration.resolve(), http: HTTPClient())
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("labelmill-manifest-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        let count = try await S3Manifest.write(from: prefix, pattern: pattern, client: s3, to: file)
        guard count > 0 else {
            throw CLIError("no objects under \(prefix) match \(pattern.map { "--pattern '\($0)'" } ?? "the image extensions (.jpg, .jpeg, .png)")")
        }
        FileHandle.standardError.write(Data("listed \(count) images under \(prefix)\n".utf8))
        return try await coordinator.uploadManifest(file: file)
    }

    /// A note on stderr for each export format that cannot carry one of `classes` (the format is chosen later).
    static func noteExportLimits(_ classes: [String]) {
        for note in ExportFormat.cannotCarry(classes) { FileHandle.standardError.write(Data("labelmill: note: \(note)\n".utf8)) }
    }

    /// Built-in names pass through; a template file travels inline, so the coordinator needs no copy of it.
    static func templateSpec(_ spec: String?) throws -> String? {
        guard let spec else { return nil }
        if TemplateSet(rawValue: spec) != nil { return spec }
        let templates = try PromptTemplates.named(spec)
        return JobSettings.inlineTemplatesPrefix + templates.templates.joined(separator: "\n")
    }
}
