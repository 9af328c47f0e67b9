import Foundation
import GRDB
import LabelAPI

/// What a worker reports while it holds a lease: a label per image, a failed image, the end of the task.
extension Store {
    static let noResult = "task completed without a result"

    /// Records the label of one image of the leased task: the image is done. Uploading the same label again is
    /// harmless (`.unchanged`); a different label for an image that is already done is a `conflict` and changes
    /// nothing. Fenced: only the current, unexpired lease may record.
    public func recordLabel(taskId: Int64, token: String, imageId: String, label: LabelFile) throws(StoreError) -> LabelOutcome {
        try write("recording the label of \(imageId) in task \(taskId)") { db in try recordLabel(db, taskId: taskId, token: token, imageId: imageId, label: label) }
    }

    /// `replacing`: a done image of this task takes a different label instead of refusing it (a job with an output
    /// rewrites a whole shard on every lease, labeling its done samples again; the new output shard holds the new).
    public func recordLabel(_ db: Database, taskId: Int64, token: String, imageId: String, label: LabelFile, replacing: Bool = false) throws -> LabelOutcome {
        if let problem = label.problem { throw StoreError.invalid(problem) }
        let at = timestamp()
        let lease = try fenced(db, taskId: taskId, token: token, at: at)
        switch try imageState(db, lease, imageId, wholeShard: replacing) {
        case .done:
            let existing = try db.value(String.self, "SELECT sha256 FROM labels WHERE job_id = ? AND image_id = ?",
                                        [lease.jobId, imageId])
            if existing == label.sha256 { return .unchanged }
            guard replacing else {
                throw StoreError.conflict("image \(imageId) already has label \(existing ?? "?"); refusing \(label.sha256)")
            }
            try storeLabelRow(db, job: lease.jobId, image: imageId, label, at: at)
            try countLabeled(db, lease)
            try appendEvent(db, at: at, kind: .imageRelabeled, job: lease.jobId, task: taskId, image: imageId, worker: lease.worker,
                            reason: "replacing \(existing ?? "?")")
            return .recorded
        case .failed:
            throw StoreError.conflict("image \(imageId) has failed in this lease; it takes no label")
        case .pending:
            throw StoreError.conflict("image \(imageId) is pending, not running, in task \(taskId)")
        case .running:
            try storeLabelRow(db, job: lease.jobId, image: imageId, label, at: at)
            try db.run("""
                UPDATE images SET state = \(ImageState.done.sql), finished = 1, error = NULL, updated_at = ?
                WHERE job_id = ? AND id = ? AND \(ImageState.sqlWhere(.running, to: .done))
                """, [at, lease.jobId, imageId])
            try countLabeled(db, lease)
            return .recorded
        }
    }

    /// One more image labeled by this lease: its end writes them all to the ledger as one `task.labeled` event
    /// (the `attempts_labeled` trigger), not an event an image.
    private func countLabeled(_ db: Database, _ lease: Lease) throws {
        try db.run("UPDATE attempts SET labeled = labeled + 1 WHERE task_id = ? AND number = ?", [lease.taskId, lease.number])
    }

    /// The image's label row, and its class pixels counted in place of those of the label it had.
    private func storeLabelRow(_ db: Database, job: String, image: String, _ label: LabelFile, at: Double) throws {
        try uncountClasses(db, job: job, image: image)
        try db.run("""
            INSERT INTO labels (job_id, image_id, sha256, bytes, width, height, relative_path, created_at, classes, confidence_sha256)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (job_id, image_id) DO UPDATE SET sha256 = excluded.sha256, bytes = excluded.bytes,
                width = excluded.width, height = excluded.height, relative_path = excluded.relative_path,
                created_at = excluded.created_at, classes = excluded.classes, confidence_sha256 = excluded.confidence_sha256
            """, [job, image, label.sha256, label.bytes, label.width, label.height, label.relativePath, at,
                  label.classes.isEmpty ? nil : LabelFile.encode(label.classes), label.confidenceSHA256])
        try countClasses(db, job: job, image: image, label.classes)
    }

    /// Adds a label map's class pixels to the gallery's index and the job's sums.
    private func countClasses(_ db: Database, job: String, image: String, _ classes: [ClassPixels]) throws {
        guard !classes.isEmpty else { return }
        for entry in classes {
            try db.run("INSERT INTO label_classes (job_id, class_index, image_id, pixels) VALUES (?, ?, ?, ?)",
                       [job, entry.class, image, entry.pixels])
            try db.run("""
                INSERT INTO job_class_pixels (job_id, class_index, pixels, images) VALUES (?, ?, ?, 1)
                ON CONFLICT (job_id, class_index) DO UPDATE SET pixels = pixels + excluded.pixels, images = images + 1
                """, [job, entry.class, entry.pixels])
        }
        try db.run("UPDATE job_image_counts SET counted = counted + 1 WHERE job_id = ?", [job])
    }

    /// Takes the counts of the label the image has now, if any, back out (before it gets another).
    private func uncountClasses(_ db: Database, job: String, image: String) throws {
        guard let text = try db.value(String.self, "SELECT classes FROM labels WHERE job_id = ? AND image_id = ?", [job, image]) else { return }
        for entry in LabelFile.decode(text) {
            try db.run("DELETE FROM label_classes WHERE job_id = ? AND class_index = ? AND image_id = ?", [job, entry.class, image])
            try db.run("UPDATE job_class_pixels SET pixels = pixels - ?, images = images - 1 WHERE job_id = ? AND class_index = ?",
                       [entry.pixels, job, entry.class])
        }
        try db.run("UPDATE job_image_counts SET counted = counted - 1 WHERE job_id = ?", [job])
    }

    /// The job and worker (its name) of an upload's target, checked before its file is written: the lease is current and the image is
    /// one of its task's, running or done (a repeated upload). Throws what `recordLabel` would otherwise throw
    /// after the write, so a stale or foreign upload never touches the disk.
    public func uploadTarget(taskId: Int64, token: String, imageId: String, wholeShard: Bool = false) throws(StoreError) -> (jobId: String, worker: String) {
        try read("checking an upload to \(imageId) in task \(taskId)") { db in
            try uploadTarget(db, taskId: taskId, token: token, imageId: imageId, wholeShard: wholeShard)
        }
    }

    public func uploadTarget(_ db: Database, taskId: Int64, token: String, imageId: String, wholeShard: Bool = false) throws -> (jobId: String, worker: String) {
        let at = timestamp()
        let lease = try fenced(db, taskId: taskId, token: token, at: at)
        switch try imageState(db, lease, imageId, wholeShard: wholeShard) {
        case .running, .done:
            // The worker's stable name when it gave one: per-worker figures then survive its restarts.
            let name = try db.value(String.self, "SELECT COALESCE(name, id) FROM workers WHERE id = ?", [lease.worker])
            return (lease.jobId, name ?? lease.worker)
        case .failed: throw StoreError.conflict("image \(imageId) has failed in this lease; it takes no label")
        case .pending: throw StoreError.conflict("image \(imageId) is pending, not running, in task \(taskId)")
        }
    }

    /// Fails one image of the leased task with `reason` (a bad image fails alone: the task and the other images go
    /// on). Failing a failed image again is a no-op; failing a done image is a `conflict`. Fenced.
    public func failImage(taskId: Int64, token: String, imageId: String, reason: String) throws(StoreError) {
        try write("failing \(imageId) in task \(taskId)") { db in try failImage(db, taskId: taskId, token: token, imageId: imageId, reason: reason) }
    }

    public func failImage(_ db: Database, taskId: Int64, token: String, imageId: String, reason: String) throws {
        let at = timestamp()
        let reason = reason.isEmpty ? "failed" : Self.storedReason(reason)
        let lease = try fenced(db, taskId: taskId, token: token, at: at)
        switch try imageState(db, lease, imageId) {
        case .failed: return
        case .done: throw StoreError.conflict("image \(imageId) is already labeled")
        case .pending: throw StoreError.conflict("image \(imageId) is pending, not running, in task \(taskId)")
        case .running:
            try db.run("""
                UPDATE images SET state = \(ImageState.failed.sql), finished = 1, error = ?, updated_at = ?
                WHERE job_id = ? AND id = ? AND \(ImageState.sqlWhere(.running, to: .failed))
                """, [reason, at, lease.jobId, imageId])
            try appendEvent(db, at: at, kind: .imageFailed, job: lease.jobId, task: taskId, image: imageId,
                            worker: lease.worker, reason: reason)
        }
    }

    /// Ends the task: it is done, images still running fail ("task completed without a result"), the attempt is
    /// closed, and the job is done once all its images are done or failed. Fenced; repeating a completion with
    /// the token that completed the task is a no-op (a retried request).
    public func complete(taskId: Int64, token: String) throws(StoreError) {
        try write("completing task \(taskId)") { db in try complete(db, taskId: taskId, token: token) }
    }

    public func complete(_ db: Database, taskId: Int64, token: String) throws {
        let at = timestamp()
        let row = try db.one("""
            UPDATE tasks SET state = \(TaskState.done.sql), lease_expires_at = NULL, updated_at = ?
            WHERE id = ? AND \(TaskState.sqlWhere(.leased, to: .done)) AND lease_token = ? AND lease_expires_at > ?
            RETURNING job_id, worker_id, lease_count
            """, [at, taskId, token, at])
        guard let row else {
            let task = try db.one("SELECT state, lease_token FROM tasks WHERE id = ?", [taskId])
            if task?["state"] as String? == TaskState.done.rawValue, task?["lease_token"] as String? == token { return }
            throw try staleLease(db, taskId: taskId, token: token, at: at)
        }
        let lease = Lease(taskId: taskId, jobId: row["job_id"], worker: row["worker_id"], number: row["lease_count"])
        try closeAttempt(db, lease, outcome: "done", at: at)
        try endTask(db, lease, reason: nil, at: at)
    }

    /// leased → done, for a lease that ends with nothing left to do (expired or released after its last result).
    func finishTask(_ db: Database, _ lease: Lease, reason: String?, at: Double) throws {
        try db.run("""
            UPDATE tasks SET state = \(TaskState.done.sql), lease_expires_at = NULL, updated_at = ?
            WHERE id = ? AND \(TaskState.sqlWhere(.leased, to: .done))
            """, [at, lease.taskId])
        try endTask(db, lease, reason: reason, at: at)
    }

    /// After a task became done: its images still running fail, and the job may be done.
    func endTask(_ db: Database, _ lease: Lease, reason: String?, at: Double) throws {
        let unfinished = try appendTaskEvents(
            db, at: at, kind: .taskDone, job: lease.jobId, task: lease.taskId, worker: lease.worker, reason: reason,
            images: .running, imageKind: .imageFailed, imageReason: Self.noResult)
        if unfinished > 0 {
            try db.run("""
                UPDATE images SET state = \(ImageState.failed.sql), finished = 1, error = ?, updated_at = ?
                WHERE task_id = ? AND \(ImageState.sqlWhere(.running, to: .failed))
                """, [Self.noResult, at, lease.taskId])
        }
        try finishJobIfComplete(db, lease.jobId, at: at)
    }

    /// The state of an image of the leased task; `notFound` when the image is not part of it.
    /// `wholeShard`: a done sample of another task of the same shard counts as this task's (a retry's task rewrites
    /// the whole output shard, in a job with an output).
    func imageState(_ db: Database, _ lease: Lease, _ imageId: String, wholeShard: Bool = false) throws -> ImageState {
        let row = try db.one("SELECT state, task_id, seq FROM images WHERE job_id = ? AND id = ?", [lease.jobId, imageId])
        var ours = row?["task_id"] as Int64? == lease.taskId
        if let row, !ours, wholeShard, row["state"] as String == ImageState.done.rawValue,
           let line = try db.value(Int64.self, "SELECT manifest_last_line FROM tasks WHERE id = ? AND shard IS NOT NULL", [lease.taskId]) {
            ours = (row["seq"] as Int64) >> 24 == line
        }
        guard let row, ours else { throw StoreError.notFound("image \(imageId.debugDescription) is not part of task \(lease.taskId)") }
        guard let state = ImageState(rawValue: row["state"]) else {
            throw StoreError(.io, "image \(imageId) has unknown state \(row["state"] as String)")
        }
        return state
    }
}
