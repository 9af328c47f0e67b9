import Foundation
import GRDB
import LabelAPI

/// Read-only views for exports and the HTTP layer.
extension Store {
    /// Every image of the job in manifest order, with its label when done.
    /// With `from` and `count`: the images at manifest positions from..<from + count (a page of a large job; a
    /// job read from a manifest file numbers them by line, so a page may hold fewer, or none, until
    /// `lastPosition`).
    public func results(jobId: String, from: Int = 0, count: Int = Int.max) throws(StoreError) -> [ImageResult] {
        try read("reading results of job \(jobId)") { db in try results(db, jobId: jobId, from: from, count: count) }
    }

    public func results(_ db: Database, jobId: String, from: Int = 0, count: Int = Int.max) throws -> [ImageResult] {
        guard let job = try db.one("SELECT manifest_path, json_extract(options, '$.tarShards') AS tar_shards FROM jobs WHERE id = ?",
                                   [jobId]) else {
            throw StoreError.notFound("job \(jobId) does not exist")
        }
        let to = from.addingReportingOverflow(count).overflow ? Int.max : from + count
        var positioned = try db.all("""
            SELECT i.seq, i.id, i.uri, i.state, i.attempts, i.error, l.sha256, l.relative_path, l.width, l.height, l.confidence_sha256
            FROM images AS i LEFT JOIN labels AS l ON l.job_id = i.job_id AND l.image_id = i.id
            WHERE i.job_id = ? AND i.seq >= ? AND i.seq < ? ORDER BY i.seq
            """, [jobId, from, to]).map { row in
            (row["seq"] as Int, ImageResult(
                id: row["id"], uri: row["uri"], state: ImageState(rawValue: row["state"]) ?? .pending,
                attempts: row["attempts"], error: row["error"], labelSHA256: row["sha256"],
                labelPath: row["relative_path"], width: row["width"], height: row["height"], confidenceSHA256: row["confidence_sha256"]))
        }
        // (A WebDataset job's unread tasks are shards: their samples are not known yet.)
        if let manifest = job["manifest_path"] as String?, job["tar_shards"] as Bool? != true {
            let unread = try unreadImages(db, jobId: jobId, manifest: manifestPath(manifest), lines: from..<to,
                                          except: Set(positioned.map(\.0)))
            if !unread.isEmpty {
                positioned += unread
                positioned.sort { $0.0 < $1.0 }
            }
        }
        return positioned.map(\.1)
    }

    /// The images, by line, of the tasks in `lines` that were never leased, pending (or failed with their job):
    /// read from the manifest (they have no rows), less the lines in `except` (refused ones, which do).
    private func unreadImages(_ db: Database, jobId: String, manifest: String, lines: Range<Int>, except: Set<Int>) throws
        -> [(Int, ImageResult)]
    {
        // The task that starts before the page (it may reach into it), then those that start in it.
        let columns = "manifest_offset, manifest_line, manifest_end, manifest_last_line, state, error FROM tasks INDEXED BY tasks_unread"
        var tasks = try db.all("""
            SELECT \(columns) WHERE job_id = ? AND manifest_offset IS NOT NULL AND manifest_line < ?
            ORDER BY manifest_line DESC LIMIT 1
            """, [jobId, lines.lowerBound])
        tasks += try db.all("""
            SELECT \(columns) WHERE job_id = ? AND manifest_offset IS NOT NULL AND manifest_line >= ? AND manifest_line < ?
            ORDER BY manifest_line
            """, [jobId, lines.lowerBound, lines.upperBound])
        var images: [(Int, ImageResult)] = []
        for task in tasks {
            let range = ManifestLines(offset: task["manifest_offset"], line: task["manifest_line"], end: task["manifest_end"],
                                      lastLine: task["manifest_last_line"])
            guard range.lastLine >= lines.lowerBound else { continue }
            guard let items = range.items(in: manifest) else { throw StoreError(.io, "the manifest of job \(jobId) (\(manifest)) is missing") }
            // A task that failed with its job before any lease: its images failed with it (as `failJob` says).
            let failure = task["state"] as String == TaskState.failed.rawValue ? "the job failed: \(task["error"] as String? ?? "")" : nil
            for item in items where lines.contains(item.line) && !except.contains(item.line) {
                images.append((item.line, ImageResult(id: item.id, uri: item.uri, state: failure == nil ? .pending : .failed,
                                                      attempts: 0, error: failure)))
            }
        }
        return images
    }

    /// The position after which `results` has no more images: for paging through them.
    public func lastPosition(_ db: Database, jobId: String) throws -> Int {
        let row = try db.one("""
            SELECT (SELECT prepared_lines FROM jobs WHERE id = :job) AS lines,
                   (SELECT MAX(seq) FROM images WHERE job_id = :job) AS seq
            """, ["job": jobId])
        return max(row?["lines"] as Int? ?? 0, row?["seq"] as Int? ?? 0)
    }

    /// The first position from `from` on that has an image row, if any: a page of results may skip to it (a
    /// WebDataset job's positions are sparse: a shard's line << 24 and up).
    public func nextImagePosition(_ db: Database, jobId: String, from: Int) throws -> Int? {
        try db.value(Int.self, "SELECT MIN(seq) FROM images WHERE job_id = ? AND seq >= ?", [jobId, from])
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
            SELECT sha256, bytes, width, height, relative_path, confidence_sha256 FROM labels WHERE job_id = ? AND image_id = ?
            """, [jobId, imageId]).map { row in
            LabelFile(sha256: row["sha256"], bytes: row["bytes"], width: row["width"], height: row["height"],
                      relativePath: row["relative_path"], confidenceSHA256: row["confidence_sha256"])
        }
    }

    /// Every worker ever seen, by id, with the leases it holds now.
    public func workers() throws(StoreError) -> [WorkerRecord] {
        try read("listing workers") { db in try workers(db) }
    }

    public func workers(_ db: Database) throws -> [WorkerRecord] {
        var active: [String: Int] = [:]
        for row in try db.all("SELECT worker_id, COUNT(*) AS n FROM tasks WHERE state = \(TaskState.leased.sql) GROUP BY worker_id") {
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
