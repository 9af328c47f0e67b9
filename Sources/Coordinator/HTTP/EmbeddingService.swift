import Foundation
import Inference
import LabelAPI
import Logging
import ServiceLifecycle
import Support

/// Computes each job's class embeddings once, on the coordinator, and makes its tasks claimable: workers then
/// download one small file instead of each running the text tower. Runs on a work thread of its own (model loading
/// and the text tower are long CPU work), and picks up jobs left without embeddings by a restart. A service of the
/// coordinator: its graceful shutdown waits for the job being computed and skips the queued ones (a restart picks
/// them up).
final class EmbeddingService: Service, Sendable {
    let store: Store
    let dataDirectory: URL
    let logger: Logger
    /// Called with the number of tasks that have become claimable.
    let onReady: @Sendable (Int) -> Void
    private let thread = WorkThreads(name: "lm-embeddings", count: 1)
    private let stopping = AtomicFlag()

    init(store: Store, dataDirectory: URL, logger: Logger, onReady: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.store = store
        self.dataDirectory = dataDirectory
        self.logger = logger
        self.onReady = onReady
    }

    func schedule(jobId: String) {
        thread.submit { [self] in
            guard !stopping.isSet else { return }
            compute(jobId: jobId)
        }
    }

    /// Until shutdown; a graceful one then waits for the job being computed, a cancelled one does not.
    func run() async throws {
        try? await gracefulShutdown()
        stopping.set()
        if !Task.isCancelled { await thread.drain() }
    }

    /// Jobs still waiting for embeddings (after a restart).
    func resumePending() throws {
        for job in try store.jobs(limit: 100_000) where job.embeddingsSHA256 == nil && job.state.isActive {
            schedule(jobId: job.id)
        }
    }

    private func compute(jobId: String) {
        do {
            guard let job = try store.job(jobId), job.embeddingsSHA256 == nil, job.state.isActive else { return }
            let started = Date()
            let model = try ModelDirectory.materialize(modelId: job.modelId, store: store, dataDirectory: dataDirectory)
            let clip = try CLIPModel(directory: model, use: .textOnly)
            let embeddings = try ClassEmbeddings.compute(
                model: clip, classNames: job.classes, synonyms: try job.options.synonymLists(for: job.classes),
                templates: .named(job.options.templates.rawValue),
                modelSHA256: try clip.weightsSHA256())
            // Written under a temporary name, then renamed onto its content address: rename(2) replaces an
            // identical file another job already uses without a moment where it is missing.
            let directory = dataDirectory.appendingPathComponent(DataLayout.embeddingsFolder).path
            try AtomicFile.createDirectories(directory)
            let temporary = AtomicFile.temporaryPath(for: directory + "/\(jobId)")
            defer { unlink(temporary) }
            try embeddings.write(to: temporary)
            let sha = try SHA256Hex.of(file: temporary)
            try AtomicFile.commit(temporary, to: dataDirectory.appendingPathComponent(DataLayout.embeddings(sha)).path)
            guard try record(jobId: jobId, sha256: sha) else {
                // Cancelled meanwhile. The file is content-addressed and may serve another job with the same
                // classes, so it stays.
                logger.info("embeddings.unused", metadata: ["job.id": "\(jobId)"])
                return
            }
            logger.info("embeddings.ready", metadata: ["job.id": "\(jobId)", "classes.count": "\(job.classes.count)",
                                                       "seconds": "\(Date().timeIntervalSince(started))"])
        } catch {
            logger.error("embeddings.failed", metadata: ["job.id": "\(jobId)", "error": "\(error)"])
            try? store.failJob(jobId, reason: "the class embeddings could not be computed: \(error)")
        }
    }

    /// Sets the job's embeddings and opens its tasks, a few thousand a transaction (a job of a million tasks must
    /// not hold the write lock for seconds), waking workers as they open; false when the job can no longer take
    /// them (cancelled or failed meanwhile).
    private func record(jobId: String, sha256: String) throws -> Bool {
        var opening: Store.TaskOpening
        do {
            opening = try store.write("setting embeddings of job \(jobId)") { db in try store.setEmbeddings(db, jobId: jobId, sha256: sha256) }
        } catch {
            if error.code == .conflict { return false }
            throw error
        }
        onReady(opening.opened)
        while let after = opening.after {
            opening = try store.write("opening tasks of job \(jobId)") { db in try store.openTasks(db, jobId: jobId, after: after) }
            onReady(opening.opened)
        }
        return true
    }
}
