import Foundation
import Inference
import LabelAPI

/// A registered model as a directory Inference can load: DATA/models/<id>/<file name> linked to the blobs.
enum ModelDirectory {
    static func materialize(modelId: String, store: Store, dataDirectory: URL) throws -> URL {
        guard let model = try store.model(modelId) else { throw CoordinatorError(.notFound, "no model \(modelId)") }
        let directory = dataDirectory.appendingPathComponent("models/\(model.id)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for file in model.files {
            let link = directory.appendingPathComponent(file.name)
            if FileManager.default.fileExists(atPath: link.path) { continue }
            guard let blob = try store.blob(file.sha256) else {
                throw CoordinatorError(.notFound, "model \(model.name): blob \(file.sha256) of \(file.name) is missing")
            }
            try FileManager.default.linkItem(at: dataDirectory.appendingPathComponent(blob.relativePath), to: link)
        }
        return directory
    }
}
