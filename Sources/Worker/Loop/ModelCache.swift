import Foundation
import Inference
import LabelAPI

/// Downloads each model once into the cache (blobs by sha256, resumable, checksummed), loads it once, and
/// keeps one MaskCLIP per job. Several worker processes may share a cache: downloads land by atomic rename.
actor ModelCache {
    let client: CoordinatorClient
    let directory: URL
    let runner: InferenceRunner
    private var loaded: (id: String, model: CLIPModel)?
    private var jobs: [String: MaskCLIP] = [:]

    init(client: CoordinatorClient, directory: URL, runner: InferenceRunner) {
        self.client = client
        self.directory = directory
        self.runner = runner
    }

    func maskCLIP(for task: TaskAssignment) async throws -> MaskCLIP {
        if let cached = jobs[task.jobId] { return cached }
        let model = try await model(task.modelId)
        let embeddingsPath = directory.appendingPathComponent("embeddings/\(task.embeddingsSHA256).safetensors").path
        if !FileManager.default.fileExists(atPath: embeddingsPath) {
            try FileManager.default.createDirectory(at: directory.appendingPathComponent("embeddings"), withIntermediateDirectories: true)
            _ = try await client.http.download(DownloadRequest(
                url: client.baseURL + Routes.embeddings(task.jobId), destination: embeddingsPath,
                expectedSHA256: task.embeddingsSHA256, headers: ["Authorization": "Bearer \(client.token)"]), retry: client.retry)
        }
        let settings = task.settings
        let options = MaskCLIPOptions(shortSide: settings.shortSide, longSide: settings.longSide, promptDenoise: settings.promptDenoise,
                                      keySmoothing: settings.keySmoothing, preset: Preset(rawValue: settings.preset) ?? .clip)
        let maskCLIP = try await runner.run {
            let classes = try ClassEmbeddings(contentsOf: embeddingsPath)
            return try MaskCLIP(model: model, classes: classes, options: options)
        }
        if jobs.count > 8 { jobs.removeAll() }
        jobs[task.jobId] = maskCLIP
        return maskCLIP
    }

    private func model(_ id: String) async throws -> CLIPModel {
        if let loaded, loaded.id == id { return loaded.model }
        let manifest = try await client.model(id)
        let modelDirectory = directory.appendingPathComponent("models/\(manifest.id)")
        try FileManager.default.createDirectory(at: modelDirectory, withIntermediateDirectories: true)
        for file in manifest.files {
            let path = modelDirectory.appendingPathComponent(file.name).path
            if FileManager.default.fileExists(atPath: path) { continue }
            _ = try await client.http.download(DownloadRequest(
                url: client.baseURL + Routes.blob(file.sha256), destination: path, expectedSize: file.size,
                expectedSHA256: file.sha256, headers: ["Authorization": "Bearer \(client.token)"]), retry: client.retry)
        }
        let model = try await runner.run { try CLIPModel(directory: modelDirectory) }
        loaded = (id, model)
        jobs.removeAll()
        return model
    }
}
