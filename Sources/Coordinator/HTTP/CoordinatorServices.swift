import Foundation
import Hummingbird
import Inference
import LabelAPI
import Logging

/// What the routes share: the store, the data directory layout and the background services.
final class CoordinatorServices: Sendable {
    let configuration: CoordinatorConfiguration
    let store: Store
    let embeddings: EmbeddingService
    let jobCache = JobCache()
    let metrics = CoordinatorMetrics()
    /// Wakes long-polling claims when work may have appeared.
    let workSignal = WorkSignal()
    let logger: Logger

    init(configuration: CoordinatorConfiguration, store: Store, logger: Logger) {
        self.configuration = configuration
        self.store = store
        self.logger = logger
        embeddings = EmbeddingService(store: store, dataDirectory: configuration.dataDirectory, logger: logger,
                                      onReady: { [workSignal] in workSignal.notify() })
    }

    /// `DATA/<relative>`: every file the coordinator writes lives under its data directory.
    func dataPath(_ relative: String) -> String {
        configuration.dataDirectory.appendingPathComponent(relative).path
    }

    func createJob(_ request: CreateJobRequest) throws -> (JobRecord, Bool) {
        try ClassEmbeddings.validate(classNames: request.classes)
        let templates = request.settings.templates
        guard templates == "maskclip85" || templates == "single" || templates.hasPrefix(PromptTemplates.inlinePrefix) else {
            throw CoordinatorError(.badRequest, "templates must be maskclip85, single or inline (the CLI sends template files inline)")
        }
        _ = try PromptTemplates.named(templates)
        guard Preset(rawValue: request.settings.preset) != nil else {
            throw CoordinatorError(.badRequest, "unknown preset \(request.settings.preset)")
        }
        if let problem = request.settings.problem { throw CoordinatorError(.badRequest, "settings: \(problem)") }
        guard let model = try store.model(request.model) else {
            throw CoordinatorError(.notFound, "no model named \(request.model): register it with `labelmill model add`")
        }
        let items = try Manifest.parse(request.manifest)
        return try store.createJob(NewJob(name: request.name, modelId: model.id, classes: request.classes,
                                          options: request.settings, idempotencyKey: request.idempotencyKey, items: items))
    }

    func status(jobId: String) throws -> JobStatus {
        guard let job = try store.job(jobId) else { throw CoordinatorError(.notFound, "no job \(jobId)") }
        return try status(of: job)
    }

    func status(of job: JobRecord) throws -> JobStatus {
        let p = try store.progress(job.id)
        let images = JobStatus.Images(total: p.images.total, pending: p.images.pending, running: p.images.running,
                                      done: p.images.done, failed: p.images.failed)
        let rate = Double(p.imagesDoneLastMinute) / 60
        let remaining = images.pending + images.running
        return JobStatus(
            id: job.id, name: job.name, state: job.state.rawValue, images: images,
            tasks: ["queued": p.tasks.queued, "leased": p.tasks.leased, "done": p.tasks.done, "failed": p.tasks.failed,
                    "cancelled": p.tasks.cancelled],
            model: job.modelId, classes: job.classes, settings: job.options,
            createdAt: job.createdAt.timeIntervalSince1970, startedAt: job.startedAt?.timeIntervalSince1970,
            finishedAt: job.finishedAt?.timeIntervalSince1970, imagesPerSecond: rate,
            etaSeconds: rate > 0 && remaining > 0 ? Double(remaining) / rate : nil, activeWorkers: p.activeWorkers,
            leaseExpiries: p.leaseExpiries, retries: p.retries,
            recentErrors: p.recentErrors.map { .init(id: $0.imageId, uri: $0.uri, error: $0.error, at: $0.at.timeIntervalSince1970) },
            embeddingsReady: job.embeddingsSHA256 != nil)
    }

    /// results.jsonl: one line per image in manifest order.
    func resultLines(jobId: String) throws -> [UInt8] {
        guard try store.job(jobId) != nil else { throw CoordinatorError(.notFound, "no job \(jobId)") }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var out: [UInt8] = []
        for result in try store.results(jobId: jobId) {
            let line = ImageResultLine(id: result.id, uri: result.uri, status: result.state.rawValue, attempts: result.attempts,
                                       error: result.error, sha256: result.labelSHA256)
            out += try encoder.encode(line)
            out.append(UInt8(ascii: "\n"))
        }
        return out
    }

    func embeddingsPath(jobId: String) throws -> String {
        guard let job = try store.job(jobId) else { throw CoordinatorError(.notFound, "no job \(jobId)") }
        guard let sha = job.embeddingsSHA256 else { throw CoordinatorError(.unavailable, "class embeddings of \(jobId) are not ready yet") }
        return dataPath(EmbeddingService.relativePath(sha256: sha))
    }

    /// A whole file as the response body, streamed from disk.
    func fileResponse(path: String, contentType: String, context: CoordinatorContext) async throws -> Response {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw CoordinatorError(.notFound, "no such file")
        }
        let body = try await FileIO().loadFile(path: path, context: context)
        return Response(status: .ok, headers: [.contentType: contentType], body: body)
    }
}
