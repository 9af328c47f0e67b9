import ArgumentParser
import Foundation
import Inference
import LabelAPI
import Worker

struct SubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit", abstract: "Submit a labeling job; prints its id.",
        discussion: """
            Relative paths in the manifest are read by the coordinator from its --image-root; absolute paths and
            file:// URLs by each worker from its own disk; http(s) URLs by the workers.

            Example:
              labelmill submit --coordinator http://10.0.0.5:8080 --token-file token --model clip-b16 \\
                --manifest images.jsonl --classes-file classes.txt
            """)

    @OptionGroup var client: ClientOptions

    @Option(help: "Model name or id (registered with `labelmill model add`).")
    var model: String

    @Option(help: "Manifest: JSON Lines {\"id\", \"uri\"} or one path/URL per line.")
    var manifest: String

    @OptionGroup var classOptions: ClassOptions

    @Option(help: "Prompt templates: maskclip85, single, or a file (sent inline).")
    var templates = "maskclip85"

    @OptionGroup var maskCLIP: MaskCLIPFlags
    @Option(parsing: .unconditional, help: "Images per task.") var shardSize = 8
    @Option(parsing: .unconditional, help: "Attempts per task (leases that ran out, workers that could not prepare the job) before its images fail.")
    var maxAttempts = 3
    @Option(parsing: .unconditional, help: "Lease length in seconds (workers heartbeat every third).") var leaseSeconds: Double = 60
    @Option(help: "Job name.") var name: String?
    @Option(help: "Idempotency key: submitting again with the same key returns the same job.") var idempotencyKey: String?
    @Flag(help: "Print {\"id\": ...} as JSON.") var json = false

    func run() async throws {
        guard FileManager.default.isReadableFile(atPath: manifest) else { throw CLIError("cannot read the manifest \(manifest): no such file, or not readable") }
        var settings = try maskCLIP.settings(templates: Self.templateSpec(templates))
        (settings.shardSize, settings.maxAttempts, settings.leaseSeconds) = (shardSize, maxAttempts, leaseSeconds)
        try settings.validateFlags()
        // The manifest streams up first (any size), then the job refers to it.
        let coordinator = try client.client()
        let upload = try await coordinator.uploadManifest(file: manifest)
        let response = try await coordinator.createJob(CreateJobRequest(
            name: name, model: model, classes: try classOptions.names(), settings: settings,
            idempotencyKey: idempotencyKey, manifestUpload: upload))
        if json { try printJSON(["id": response.id]) } else { print(response.id) }
    }

    /// Built-in names pass through; a template file travels inline, so the coordinator needs no copy of it.
    static func templateSpec(_ spec: String) throws -> String {
        if spec == "maskclip85" || spec == "single" { return spec }
        let templates = try PromptTemplates.named(spec)
        return JobSettings.inlineTemplatesPrefix + templates.templates.joined(separator: "\n")
    }
}
