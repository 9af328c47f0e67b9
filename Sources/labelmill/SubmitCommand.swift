import ArgumentParser
import Foundation
import Inference
import LabelAPI
import Worker

struct SubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "submit", abstract: "Submit a labeling job; prints its id.")

    @OptionGroup var client: ClientOptions

    @Option(help: "Model name or id (registered with `labelmill model add`).")
    var model: String

    @Option(help: "Manifest: JSON Lines {\"id\", \"uri\"} or one path/URL per line.")
    var manifest: String

    @OptionGroup var classOptions: ClassOptions

    @Option(help: "Prompt templates: maskclip85, single, or a file (sent inline).")
    var templates = "maskclip85"

    @Option(help: "Prompt-denoising threshold (0 = off).") var promptDenoise: Float = 0.5
    @Option(help: "Key-smoothing threshold (0 = off).") var keySmoothing: Float = 0
    @Option(help: "Resize short side.") var shortSide = 512
    @Option(help: "Cap on the long side.") var longSide = 2048
    @Option(help: "clip or reference.") var preset: Preset = .clip
    @Option(help: "Images per task.") var shardSize = 8
    @Option(help: "Leases per task before its images are failed.") var maxAttempts = 3
    @Option(help: "Lease length in seconds (workers heartbeat every third).") var leaseSeconds: Double = 60
    @Option(help: "Job name.") var name: String?
    @Option(help: "Idempotency key: submitting again with the same key returns the same job.") var idempotencyKey: String?
    @Flag(help: "Print {\"id\": ...} as JSON.") var json = false

    func run() async throws {
        guard FileManager.default.isReadableFile(atPath: manifest) else { throw ValidationError("cannot read manifest \(manifest)") }
        let settings = JobSettings(templates: try Self.templateSpec(templates), promptDenoise: promptDenoise, keySmoothing: keySmoothing,
                                   shortSide: shortSide, longSide: longSide, preset: preset.rawValue, shardSize: shardSize,
                                   maxAttempts: maxAttempts, leaseSeconds: leaseSeconds)
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
