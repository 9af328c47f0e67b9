import Foundation
import Hummingbird
import Inference
import LabelAPI
import Logging
import GRDB

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
                                      onReady: { [workSignal] tasks in workSignal.notify(count: tasks) })
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
        var job = NewJob(name: request.name, modelId: model.id, classes: request.classes, options: request.settings,
                         idempotencyKey: request.idempotencyKey, items: [])
        switch (request.manifest, request.manifestUpload) {
        case (let text?, nil):
            job.items = try Manifest.parse(text)
            return try store.createJob(job)
        case (nil, let upload?):
            let path = try manifestUploadPath(upload)
            guard FileManager.default.fileExists(atPath: path) else { throw CoordinatorError(.notFound, "no manifest upload \(upload)") }
            defer { unlink(path) }
            return try store.createJob(job, manifestFile: path)
        default:
            throw CoordinatorError(.badRequest, "give either manifest (the text) or manifestUpload (from PUT \(Routes.uploadManifest.template))")
        }
    }

    /// Streams a manifest upload to `DATA/uploads/<id>.manifest`; returns the id and the size.
    func receiveManifest(_ body: RequestBody) async throws -> (String, Int64) {
        let id = UUID().uuidString.lowercased()
        let path = try manifestUploadPath(id)
        let limit = configuration.maxManifestBytes
        let size = try await StreamedFile.receive(body, to: path, limit: limit, what: "manifest") { _ in }
        return (id, size)
    }

    /// Where an upload lives; its id must be one this coordinator made (a UUID), never a path.
    private func manifestUploadPath(_ id: String) throws -> String {
        guard let uuid = UUID(uuidString: id), uuid.uuidString.lowercased() == id else {
            throw CoordinatorError(.badRequest, "manifestUpload \(id.debugDescription) is not an upload id")
        }
        return dataPath("uploads/\(id).manifest")
    }

    func status(_ db: Database, jobId: String) throws -> JobStatus {
        guard let job = try store.job(db, jobId) else { throw CoordinatorError(.notFound, "no job \(jobId)") }
        return try status(db, of: job)
    }

    func status(_ db: Database, of job: JobRecord) throws -> JobStatus {
        let p = try store.progress(db, job.id)
        let images = JobStatus.Images(total: p.images.total, pending: p.images.pending, running: p.images.running,
                                      done: p.images.done, failed: p.images.failed)
        let rate = Double(p.imagesDoneLastMinute) / 60
        let remaining = images.pending + images.running
        return JobStatus(
            id: job.id, name: job.name, state: job.state, images: images,
            tasks: [.queued: p.tasks.queued, .leased: p.tasks.leased, .done: p.tasks.done, .failed: p.tasks.failed,
                    .cancelled: p.tasks.cancelled],
            model: job.modelId, classes: job.classes, settings: job.options,
            createdAt: job.createdAt.timeIntervalSince1970, startedAt: job.startedAt?.timeIntervalSince1970,
            finishedAt: job.finishedAt?.timeIntervalSince1970, imagesPerSecond: rate,
            etaSeconds: rate > 0 && remaining > 0 ? Double(remaining) / rate : nil, activeWorkers: p.activeWorkers,
            leaseExpiries: p.leaseExpiries, retries: p.retries,
            recentErrors: p.recentErrors.map { .init(id: $0.imageId, uri: $0.uri, error: $0.error, at: $0.at.timeIntervalSince1970) },
            embeddingsReady: job.embeddingsSHA256 != nil)
    }

    /// results.jsonl's lines for the images at manifest positions from..<from + count, in order.
    func resultLines(_ db: Database, jobId: String, from: Int, count: Int) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var out: [UInt8] = []
        for result in try store.results(db, jobId: jobId, from: from, count: count) {
            let line = ImageResultLine(id: result.id, uri: result.uri, status: result.state, attempts: result.attempts,
                                       error: result.error, sha256: result.labelSHA256)
            out += try encoder.encode(line)
            out.append(UInt8(ascii: "\n"))
        }
        return out
    }

    func embeddingsPath(_ db: Database, jobId: String) throws -> String {
        guard let job = try store.job(db, jobId) else { throw CoordinatorError(.notFound, "no job \(jobId)") }
        guard let sha = job.embeddingsSHA256 else { throw CoordinatorError(.unavailable, "class embeddings of \(jobId) are not ready yet") }
        return dataPath(EmbeddingService.relativePath(sha256: sha))
    }

    /// A whole file as the response body, streamed from disk.
    func fileResponse(path: String, contentType: String, context: CoordinatorContext) async throws -> Response {
        let isFile = try await BlockingIO.run {
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
        }
        guard isFile else { throw CoordinatorError(.notFound, "no such file") }
        let body = try await FileIO().loadFile(path: path, context: context)
        return Response(status: .ok, headers: [.contentType: contentType], body: body)
    }
}
