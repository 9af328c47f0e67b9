import Foundation
import Inference
import LabelAPI
import Support

extension CoordinatorClient {
    public func model(_ nameOrId: String) async throws -> ModelManifest {
        try decode(ModelManifest.self, from: try await send(request(Routes.model, nameOrId)))
    }

    /// Every registered model name.
    public func models() async throws -> [ModelManifest] {
        try decode([ModelManifest].self, from: try await send(request(Routes.models)))
    }

    /// Uploads a model directory's files as blobs (skipping those the coordinator has) and registers `name`.
    public func addModel(name: String, directory: URL, files: [String] = ["config.json", "model.safetensors", "vocab.json", "merges.txt"])
        async throws -> ModelManifest
    {
        var entries: [ModelFile] = []
        for file in files {
            let path = directory.appendingPathComponent(file).path
            guard FileManager.default.fileExists(atPath: path) else { throw CurlError(.io, "\(path) does not exist") }
            let sha = try CurlError.file { () throws(FileError) in try SHA256Hex.of(file: path) }
            let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0
            let exists = (try? await http.send(request(Routes.blobExists, sha), retry: retry))?.isSuccess ?? false
            if !exists {
                _ = try await send(request(Routes.uploadBlob, sha, body: .file(path: path),
                                           headers: ["Content-Type": "application/octet-stream"], timeout: .seconds(3600)))
            }
            entries.append(ModelFile(name: file, sha256: sha, size: size))
        }
        return try decode(ModelManifest.self, from: try await send(try jsonRequest(Routes.registerModel, body: RegisterModelRequest(name: name, files: entries))))
    }
}
