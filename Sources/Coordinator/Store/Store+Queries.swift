import Foundation
import GRDB
import LabelAPI

/// Read-only views for exports and the HTTP layer.
extension Store {
    /// Every image of the job in manifest order, with its label when done.
    /// With `from` and `count`: the images at manifest positions from..<from + count (a page of a large job).
    public func results(jobId: String, from: Int = 0, count: Int = Int.max) throws(StoreError) -> [ImageResult] {
        try read("reading results of job \(jobId)") { db in try results(db, jobId: jobId, from: from, count: count) }
    }

    public func results(_ db: Database, jobId: String, from: Int = 0, count: Int = Int.max) throws -> [ImageResult] {
        if try db.value(String.self, "SELECT id FROM jobs WHERE id = ?", [jobId]) == nil {
            throw StoreError.notFound("job \(jobId) does not exist")
        }
        return try db.all("""
            SELECT i.id, i.uri, i.state, i.attempts, i.error, l.sha256, l.relative_path, l.width, l.height
            FROM images AS i LEFT JOIN labels AS l ON l.job_id = i.job_id AND l.image_id = i.id
            WHERE i.job_id = ? AND i.seq >= ? AND i.seq < ? ORDER BY i.seq
            """, [jobId, from, from.addingReportingOverflow(count).overflow ? Int.max : from + count]).map { row in
            ImageResult(id: row["id"], uri: row["uri"], state: ImageState(rawValue: row["state"]) ?? .pending,
                        attempts: row["attempts"], error: row["error"], labelSHA256: row["sha256"],
                        labelPath: row["relative_path"], width: row["width"], height: row["height"])
        }
    }

    /// Where to fetch an image, or nil when the job has no such image.
    public func imageURI(jobId: String, imageId: String) throws(StoreError) -> String? {
        try read("reading image \(imageId) of job \(jobId)") { db in try imageURI(db, jobId: jobId, imageId: imageId) }
    }

    public func imageURI(_ db: Database, jobId: String, imageId: String) throws -> String? {
        try db.value(String.self, "SELECT uri FROM images WHERE job_id = ? AND id = ?", [jobId, imageId])
    }

    /// The stored label of an image, or nil when it has none.
    public func label(jobId: String, imageId: String) throws(StoreError) -> LabelFile? {
        try read("reading the label of \(imageId) in job \(jobId)") { db in try label(db, jobId: jobId, imageId: imageId) }
    }

    public func label(_ db: Database, jobId: String, imageId: String) throws -> LabelFile? {
        try db.one("""
            SELECT sha256, bytes, width, height, relative_path FROM labels WHERE job_id = ? AND image_id = ?
            """, [jobId, imageId]).map { row in
            LabelFile(sha256: row["sha256"], bytes: row["bytes"], width: row["width"], height: row["height"],
                      relativePath: row["relative_path"])
        }
    }

    /// Every worker ever seen, by id, with the leases it holds now.
    public func workers() throws(StoreError) -> [WorkerRecord] {
        try read("listing workers") { db in try workers(db) }
    }

    public func workers(_ db: Database) throws -> [WorkerRecord] {
        var active: [String: Int] = [:]
        for row in try db.all("SELECT worker_id, COUNT(*) AS n FROM tasks WHERE state = 'leased' GROUP BY worker_id") {
            active[row["worker_id"]] = row["n"]
        }
        return try db.all("SELECT id, first_seen_at, last_seen_at, lease_count FROM workers ORDER BY id").map { row in
            let id: String = row["id"]
            return WorkerRecord(id: id, firstSeenAt: Date(timeIntervalSince1970: row["first_seen_at"]),
                                lastSeenAt: Date(timeIntervalSince1970: row["last_seen_at"]),
                                leaseCount: row["lease_count"], activeLeases: active[id] ?? 0)
        }
    }
}
