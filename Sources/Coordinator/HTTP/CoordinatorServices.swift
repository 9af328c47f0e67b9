import Foundation
import Hummingbird
import Inference
import LabelAPI
import Logging
import GRDB
import Support

/// What the routes share: the store, the data directory layout and the background services.
package final class CoordinatorServices: Sendable {
    let configuration: CoordinatorConfiguration
    let store: Store
    let embeddings: EmbeddingService
    /// Reads new jobs' manifests into images and tasks in the background.
    let preparer: JobPreparer
    let jobCache = JobCache()
    /// Each model's tokenizer, to refuse class names that do not fit its text context at submit.
    let tokenizers = TokenizerCache()
    let metrics = CoordinatorMetrics()
    /// Wakes long-polling claims when work may have appeared.
    let workSignal = WorkSignal()
    /// Bounds the memory of uploads being read and checked.
    let uploads: UploadBudget
    let logger: Logger

    package init(configuration: CoordinatorConfiguration, store: Store, logger: Logger) {
        self.configuration = configuration
        self.store = store
        self.logger = logger
        uploads = UploadBudget(capacity: configuration.uploadMemoryBytes)
        embeddings = EmbeddingService(store: store, dataDirectory: configuration.dataDirectory, logger: logger,
                                      onReady: { [workSignal] tasks in workSignal.notify(count: tasks) })
        preparer = JobPreparer(store: store, dataDirectory: configuration.dataDirectory, logger: logger,
                               refuse: Self.relativePathRule(imageRoot: configuration.imageRoot) ?? { _ in nil },
                               onPrepared: { [workSignal] _, tasks in workSignal.notify(count: tasks) })
    }

    /// `DATA/<relative>`: every file the coordinator writes lives under its data directory.
    func dataPath(_ relative: String) -> String {
        configuration.dataDirectory.appendingPathComponent(relative).path
    }

    /// Checks a job request (settings, classes against the model's tokenizer, the manifest) and creates the job.
    /// Blocks: call it on the blocking-I/O pool.
    func createJob(_ request: CreateJobRequest) throws -> (JobRecord, Bool) {
        // The settings as a worker will run them: every rule, and a mode and preset this build's kernels have.
        do { _ = try MaskCLIPOptions(request.settings) } catch { throw CoordinatorError(.badRequest, "settings.\(error)") }
        let templates = try PromptTemplates.named(request.settings.templates.rawValue)
        let synonyms: [[String]]
        do { synonyms = try request.settings.synonymLists(for: request.classes) } catch { throw CoordinatorError(.badRequest, "settings.\(error)") }
        try ClassEmbeddings.validate(classNames: request.classes, synonyms: synonyms)
        guard let model = try store.model(request.model) else {
            throw CoordinatorError(.notFound, "no model named \(request.model): register it with `labelmill model add`")
        }
        try tokenizers.check(request.classes, synonyms: synonyms, templates: templates, model: model, store: store,
                             dataDirectory: configuration.dataDirectory)
        if let manifest = request.manifest, manifest.utf8.count > configuration.maxInlineManifestBytes {
            throw CoordinatorError(.tooLarge, "an inline manifest may have at most \(configuration.maxInlineManifestBytes) bytes; "
                                   + "upload larger ones with PUT \(Routes.uploadManifest.template) (labelmill submit does)")
        }
        var settings = request.settings
        settings.output = settings.outputLocation?.description  // normalized: ends in /
        let job = NewJob(name: request.name, modelId: model.id, classes: request.classes, options: settings,
                         idempotencyKey: request.idempotencyKey, items: [])
        switch (request.manifest, request.manifestUpload) {
        case (let text?, nil):
            // Small enough to check here: an empty manifest, or one with no usable line, is refused at once. Then it
            // is read like an upload.
            let items = try Manifest.parse(text)
            if let refuse = Self.relativePathRule(imageRoot: configuration.imageRoot),
               items.allSatisfy({ $0.rejection != nil || refuse($0.uri) != nil }) {
                let first = items[0].rejection ?? "manifest line \(items[0].line): \(refuse(items[0].uri) ?? "")"
                throw CoordinatorError(.badRequest, "the job has no usable images (the first: \(first))")
            }
            let path = try manifestUploadPath(UUID().uuidString.lowercased())
            try AtomicFile.write(Array(text.utf8), to: path, mode: 0o600, durable: false)
            defer { unlink(path) }  // gone already when the job took it
            return try beginJob(job, manifest: path, upload: nil)
        case (nil, let upload?):
            return try beginJob(job, manifest: try manifestUploadPath(upload), upload: upload)
        default:
            throw CoordinatorError(.badRequest, "give either manifest (the text) or manifestUpload (the id an uploaded manifest was given)")
        }
    }

    /// Creates the job (state `preparing`), moving the manifest at `path` to where the preparer reads it, and sets
    /// its preparation and embeddings going. One request takes an upload: a retried request with the same
    /// idempotency key gets the job the first one made, at any point of its preparation.
    private func beginJob(_ job: NewJob, manifest path: String, upload: String?) throws -> (JobRecord, Bool) {
        let digest: String, size: Int64
        do {
            digest = try Store.manifestDigest(job, file: path)
            size = Int64(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0)
        } catch {
            // Taken by a request with the same key: a write waits for that request's transaction, which moved the
            // file, to commit, so its job is there to be found (a read could come in between and see neither).
            if let key = job.idempotencyKey, let existing = try store.write("finding the job of idempotency key \(key)", { db in
                try store.job(db, idempotencyKey: key)
            }) {
                return (existing, false)
            }
            throw Self.uploadGone(upload ?? "")
        }
        var taken: String?
        do {
            let (record, created) = try store.beginJob(job, digest: digest, manifestBytes: size) { jobId in
                let relative = DataLayout.manifest(job: jobId)
                try AtomicFile.createDirectories(dataPath(DataLayout.manifests))
                guard rename(path, dataPath(relative)) == 0 else { throw Self.uploadGone(upload ?? "") }
                taken = dataPath(relative)
                return relative
            }
            if created {
                preparer.schedule(record.id)
                embeddings.schedule(jobId: record.id)
            } else {
                unlink(path)  // the key's job was made from an upload of its own: this one is not needed
            }
            return (record, created)
        } catch {
            if let taken { rename(taken, path) }  // the job was not made: the upload is still there for a retry
            throw error
        }
    }

    private static func uploadGone(_ upload: String) -> CoordinatorError {
        CoordinatorError(.notFound, "no manifest upload \(upload): it was never made, or another request already used it "
                         + "(a retried submit: send an idempotencyKey to get that job back)")
    }

    /// Without `--image-root` nobody can read a relative path: such a line is refused at submit, not failed later on
    /// every worker.
    static func relativePathRule(imageRoot: URL?) -> (@Sendable (String) -> String?)? {
        guard imageRoot == nil else { return nil }
        return { uri in
            ImageURI.schemeSeparator(Substring(uri)) != nil || uri.hasPrefix("/") ? nil
                : "\(uri) is a relative path, and this coordinator serves none (start it with --image-root DIR, or use absolute paths or URLs)"
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
        return dataPath(DataLayout.upload(id))
    }

    package func status(_ db: Database, jobId: String) throws -> JobStatus {
        guard let job = try store.job(db, jobId) else { throw CoordinatorError(.notFound, "no job \(jobId)") }
        return try status(db, of: job)
    }

    func status(_ db: Database, of job: JobRecord) throws -> JobStatus {
        let p = try store.progress(db, job.id)
        let images = JobStatus.Images(total: p.images.total, pending: p.images.pending, running: p.images.running,
                                      done: p.images.done, failed: p.images.failed)
        let rate: Double
        if job.state.isFinished, let start = job.startedAt, let end = job.finishedAt, end > start {
            rate = Double(p.images.done) / end.timeIntervalSince(start)  // the whole run's average
        } else {
            rate = p.recentSeconds > 0 ? Double(p.imagesDoneRecently) / max(p.recentSeconds, 1) : 0
        }
        let remaining = images.pending + images.running
        return JobStatus(
            id: job.id, name: job.name, state: job.state, images: images,
            tasks: [.queued: p.tasks.queued, .leased: p.tasks.leased, .done: p.tasks.done, .failed: p.tasks.failed,
                    .cancelled: p.tasks.cancelled],
            model: job.modelId, classes: job.classes, settings: job.options,
            createdAt: job.createdAt.timeIntervalSince1970, startedAt: job.startedAt?.timeIntervalSince1970,
            finishedAt: job.finishedAt?.timeIntervalSince1970, imagesPerSecond: rate,
            etaSeconds: job.state.isActive && rate > 0 && remaining > 0 ? Double(remaining) / rate : nil, activeWorkers: p.activeWorkers,
            leaseExpiries: p.leaseExpiries, retries: p.retries,
            recentErrors: p.recentErrors.map { .init(id: $0.imageId, uri: $0.uri, error: $0.error, at: $0.at.timeIntervalSince1970) },
            embeddingsReady: job.embeddingsSHA256 != nil, failure: p.failure,
            problems: p.problems.map { .init(scope: $0.scope, reason: $0.reason, count: $0.count, lastAt: $0.lastAt.timeIntervalSince1970, examples: $0.examples) },
            stalled: Self.isStalled(p, leaseSeconds: job.options.leaseSeconds, now: store.now()),
            lastProgressAt: p.lastProgressAt?.timeIntervalSince1970,
            preparation: job.state == .preparing
                ? .init(bytesRead: job.preparedBytes, bytesTotal: job.manifestBytes, linesRead: job.preparedLines) : nil)
    }

    /// Workers are on the job (or hold its tasks) but no image finished for twice the lease, and at least two
    /// minutes: something keeps them from progressing.
    static func isStalled(_ p: JobProgress, leaseSeconds: Double, now: Date) -> Bool {
        guard p.state == .running, p.activeWorkers > 0 || p.tasks.leased > 0 else { return false }
        guard let since = p.lastProgressAt ?? p.startedAt else { return false }
        return now.timeIntervalSince(since) > max(120, 2 * leaseSeconds)
    }

    /// results.jsonl's lines for the images at manifest positions from..<from + count, in order.
    func resultLines(_ db: Database, jobId: String, from: Int, count: Int) throws -> [UInt8] {
        let encoder = WireJSON.encoder()
        var out: [UInt8] = []
        let job = try jobCache.settled(db, jobId, store: store)
        let output = job?.options.outputLocation
        for result in try store.results(db, jobId: jobId, from: from, count: count) {
            let location = fetchLocation(of: result.uri)
            var line = ImageResultLine(id: result.id, uri: result.uri, status: result.state, attempts: result.attempts,
                                       error: result.error, sha256: result.labelSHA256, fetch: location == result.uri ? nil : location)
            if let output, result.state == .done, let key = result.labelPath {
                line.label = output.uri(of: key)
                if let confidence = result.confidenceSHA256 {
                    line.confidence = output.uri(of: OutputLocation.keys(id: result.id, uri: result.uri, tarShards: job?.options.tarShards == true).confidence)
                    line.confidenceSHA256 = confidence
                }
            }
            out += try encoder.encode(line)
            out.append(UInt8(ascii: "\n"))
        }
        return out
    }

    /// A job with an output keeps its labels there, out of this coordinator's reach (it has no credentials for it):
    /// a read of one is answered with where it is (409), for the caller to read it with its own.
    func refuseOutputRead(_ db: Database, job: String, key: String, what: String) throws {
        guard let output = try jobCache.settled(db, job, store: store)?.options.outputLocation else { return }
        throw CoordinatorError(.conflict, "\(what) is in the job's output, at \(output.uri(of: key)): read it from there with your own "
                               + "credentials (labelmill export and labelmill verify do)")
    }

    func embeddingsPath(_ db: Database, jobId: String) throws -> String {
        guard let job = try store.job(db, jobId) else { throw CoordinatorError(.notFound, "no job \(jobId)") }
        guard let sha = job.embeddingsSHA256 else { throw CoordinatorError(.unavailable, "class embeddings of \(jobId) are not ready yet") }
        return dataPath(DataLayout.embeddings(sha))
    }

    /// A whole file as the response body, streamed from disk.
    func fileResponse(path: String, contentType: String, what: String, context: CoordinatorContext) async throws -> Response {
        let isFile = try await BlockingIO.run {
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
        }
        guard isFile else { throw CoordinatorError(.notFound, "\(what) is missing") }
        let body = try await FileIO().loadFile(path: path, context: context)
        return Response(status: .ok, headers: [.contentType: contentType], body: body)
    }
}
