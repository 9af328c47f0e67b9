import Foundation
import GRDB
import LabelAPI

/// Label Studio's predictions (docs/LABEL-STUDIO.md): which job labels each image it asked for.
extension Store {
    /// The job and image that label each of `keys` already, by key.
    public func labelStudioImages(_ db: Database, keys: [String]) throws -> [String: (job: String, image: String)] {
        var found: [String: (job: String, image: String)] = [:]
        let select = try db.cachedStatement(sql: "SELECT job_id, image_id FROM label_studio_images WHERE key = ?")
        for key in keys {
            if let row = try Row.fetchOne(select, arguments: [key]) { found[key] = (row["job_id"], row["image_id"]) }
        }
        return found
    }

    /// Records that `job` labels the images of `keys` (keys recorded already keep their job).
    public func recordLabelStudioImages(_ db: Database, job: String, images: [(key: String, image: String)]) throws {
        let insert = try db.cachedStatement(sql: "INSERT INTO label_studio_images (key, job_id, image_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
        for (key, image) in images { try insert.execute(arguments: [key, job, image]) }
    }

    /// Where an image of a job stands: its state and, when failed, why; pending while its task was never leased
    /// (it has no row yet). Nil when the job is gone or ended without labeling it (cancelled).
    public func imageProgress(_ db: Database, job: String, image: String) throws -> (state: ImageState, error: String?)? {
        if let row = try db.one("SELECT state, error FROM images WHERE job_id = ? AND id = ?", [job, image]) {
            return (ImageState(rawValue: row["state"]) ?? .pending, row["error"])
        }
        guard let state = try db.value(String.self, "SELECT state FROM jobs WHERE id = ?", [job]) else { return nil }
        return state == "cancelled" ? nil : (.pending, nil)
    }
}
