import Foundation
import Inference
import LabelAPI
import LabelClient
import Logging

/// The worker's cache of models and class embeddings (`--cache`, shared by every worker on the host in the
/// deployments the docs describe): blobs by sha256, each fetched at most once per host and checked before its
/// first use in a process (see `CurlSession.download` and `CachedFile`); a corrupt entry is deleted and fetched
/// again, never used. Keeps one loaded model and one MaskCLIP per job in memory.
actor ModelCache {
    let client: CoordinatorClient
    let directory: URL
    /// For jobs that leave the precision to the worker.
    let precision: Precision
    let runner: InferenceRunner
    let logger: Logger
    /// Files this process has checked (or fetched) since it started.
    private var verified: Set<String> = []
    private var loaded: (id: String, precision: Precision, model: CLIPModel)?
    private var jobs: [String: MaskCLIP] = [:]

    init(client: CoordinatorClient, directory: URL, precision: Precision, runner: InferenceRunner, logger: Logger) {
        self.client = client
        self.directory = directory
        self.precision = precision
        self.runner = runner
        self.logger = logger
    }

    func maskCLIP(for task: TaskAssignment) async throws -> MaskCLIP {
        if let cached = jobs[task.jobId] { return cached }
        let asked = task.settings.precision.known.flatMap { $0 == .auto ? nil : $0 } ?? precision
        let model = try await model(task.modelId, precision: asked)
        let embeddingsPath = directory.appendingPathComponent("embeddings/\(task.embeddingsSHA256).safetensors").path
        try await ensure(embeddingsPath, from: client.url(Routes.embeddings, [task.jobId]), size: nil, sha256: task.embeddingsSHA256)
        let options: MaskCLIPOptions
        do { options = try MaskCLIPOptions(task.settings) } catch {
            throw InferenceError(.badArgument, "this worker cannot run job \(task.jobId)'s settings: \(error) (a job of a newer coordinator? "
                                 + "upgrade the worker)")
        }
        let maskCLIP = try await runner.run {
            let classes = try ClassEmbeddings(contentsOf: embeddingsPath)
            return try MaskCLIP(model: model, classes: classes, options: options)
        }
        if jobs.count > 8 { jobs.removeAll() }
        jobs[task.jobId] = maskCLIP
        return maskCLIP
    }

    private func model(_ id: String, precision: Precision) async throws -> CLIPModel {
        if let loaded, loaded.id == id, loaded.precision == precision { return loaded.model }
        let manifest = try await client.model(id)
        let modelDirectory = directory.appendingPathComponent("models/\(manifest.id)")
        for file in manifest.files {
            try await ensure(modelDirectory.appendingPathComponent(file.name).path, from: client.url(Routes.blob, [file.sha256]),
                             size: file.size, sha256: file.sha256)
        }
        let model = try await runner.run { try CLIPModel(directory: modelDirectory, precision: precision) }
        logger.info("model.loaded", metadata: ["model.id": "\(id)", "blas": "\(BLAS.info)", "precision": "\(model.precision)"])
        loaded = (id, precision, model)
        jobs.removeAll()
        return model
    }

    /// Makes sure `path` holds the blob `sha256`: checked once per process (its size, and its digest unless the
    /// stamp of an earlier check still describes it), fetched under the per-file lock when missing or corrupt.
    private func ensure(_ path: String, from url: String, size: Int64?, sha256: String) async throws {
        if verified.contains(path) { return }
        let request = DownloadRequest(url: url, destination: path, expectedSize: size, expectedSHA256: sha256,
                                      headers: ["Authorization": "Bearer \(client.token)"], stamp: true)
        let result = try await client.http.download(request, retry: client.retry)
        if let discarded = result.discarded {
            logger.warning("cache.corrupt", metadata: ["cache.file": "\(path)", "reason": "\(discarded)"])
        }
        if !result.reused {
            logger.info("cache.fetched", metadata: ["cache.file": "\(path)", "bytes": "\(result.size)"])
        }
        verified.insert(path)
    }
}
