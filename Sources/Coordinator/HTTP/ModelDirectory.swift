import Foundation
import Inference
import LabelAPI

/// A registered model as a directory Inference can load: DATA/models/<id>/<file name>, hard links to the blobs.
enum ModelDirectory {
    /// Links `files` (default: all of the model's) and returns the directory. A blob whose file the data
    /// directory lost is an error that says so.
    static func materialize(modelId: String, store: Store, dataDirectory: URL, files wanted: Set<String>? = nil) throws -> URL {
        guard let model = try store.model(modelId) else { throw CoordinatorError(.notFound, "no model \(modelId)") }
        let directory = dataDirectory.appendingPathComponent("models/\(model.id)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for file in model.files where wanted?.contains(file.name) ?? true {
            let link = directory.appendingPathComponent(file.name)
            if FileManager.default.fileExists(atPath: link.path) { continue }
            guard let blob = try store.blob(file.sha256) else {
                throw CoordinatorError(.notFound, "model \(model.name): blob \(file.sha256) of \(file.name) is not registered")
            }
            let source = dataDirectory.appendingPathComponent(blob.relativePath)
            guard FileManager.default.fileExists(atPath: source.path) else {
                throw CoordinatorError(.notFound, "model \(model.name): the file of \(file.name) (\(blob.relativePath)) is missing from "
                                       + "the coordinator's data directory: restore it from a backup, or add the model again")
            }
            do {
                try FileManager.default.linkItem(at: source, to: link)
            } catch where FileManager.default.fileExists(atPath: link.path) {
                // Linked meanwhile by another request for the same model.
            }
        }
        return directory
    }
}
