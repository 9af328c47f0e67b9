import Foundation
import GRDB
import LabelAPI

/// Cancelling, retrying and finishing jobs.
extension Store {
    /// Cancels the job: queued and leased tasks become cancelled (so nothing is claimable and every live lease is
    /// stale from now on), and images that were running go back to pending (nobody runs them any more); finished
    /// images keep their states. Cancelling a cancelled job again is a no-op; a done or failed job is a `conflict`.
    public func cancelJob(_ id: String, reason: String) throws(StoreError) {
        try write("cancelling job \(id)") { db in try cancelJob(db, id, reason: reason) }
    }

    public func cancelJob(_ db: Database, _ id: String, reason: String) throws {
        let at = timestamp()
        let state = try jobState(db, id)
        if state == .cancelled { return }
        guard state.canMove(to: .cancelled) else { throw StoreError.conflict("job \(id) is \(state.rawValue)") }
        try endOpenTasks(db, job: id, outcome: "cancelled", kind: .taskCancelled, reason: reason, at: at)
        let running = "task_id IN (SELECT id FROM tasks WHERE job_id = ? AND state = \(TaskState.leased.sql)) AND state = \(ImageState.running.sql)"
        try db.run("""
            INSERT INTO events (at, job_id, task_id, image_id, worker_id, kind, reason)
            SELECT ?, job_id, task_id, id, NULL, ?, ? FROM images WHERE \(running)
            """, [at, EventKind.imagePending.rawValue, "job cancelled: \(reason)", id])
        try db.run("""
            UPDATE images SET state = \(ImageState.pending.sql), updated_at = ?
            WHERE task_id IN (SELECT id FROM tasks WHERE job_id = ? AND state = \(TaskState.leased.sql)) AND \(ImageState.sqlWhere(.running, to: .pending))
            """, [at, id])
        try closeOpenTasks(db, job: id, to: .cancelled, error: nil, at: at)
        try db.run("""
            UPDATE jobs SET state = \(JobState.cancelled.sql), cancel_reason = ?, finished_at = ?
            WHERE id = ? AND \(JobState.sqlWhere(.preparing, .queued, .running, to: .cancelled))
            """, [reason, at, id])
        try appendEvent(db, at: at, kind: .jobCancelled, job: id, reason: reason)
    }

    /// Puts the job's failed images back to pending, in new tasks (consecutive shards of `shardSize` in manifest
    /// order, claimable at once, or once its embeddings are ready); a done or failed job runs again, its failure
    /// reports no longer counted against it. Images rejected at submit stay failed: their manifest line is what is
    /// wrong. With `image`, only that image, which must be failed. Returns how many images were retried.
    public func retryFailed(_ jobId: String, image: String? = nil) throws(StoreError) -> Int {
        try write("retrying failed images of job \(jobId)") { db in try retryFailed(db, jobId, image: image) }
    }

    public func retryFailed(_ db: Database, _ jobId: String, image: String? = nil) throws -> Int {
        let at = timestamp()
        let job = try JobRecord.fetchOne(db.cachedStatement(sql: "SELECT * FROM jobs WHERE id = ?"), arguments: [jobId])
        guard let job else { throw StoreError.notFound("job \(jobId) does not exist") }
        if job.state == .cancelled {
            throw StoreError.conflict("job \(jobId) is cancelled, and a cancelled job does not run again: submit its manifest as a new job")
        }
        let failed: [String]
        if let image {
            let row = try db.one("SELECT state, rejected FROM images WHERE job_id = ? AND id = ?", [jobId, image])
            guard let row else { throw StoreError.notFound("job \(jobId) has no image \(image.debugDescription)") }
            guard row["state"] as String == ImageState.failed.rawValue else {
                throw StoreError.conflict("image \(image) is \(row["state"] as String), not failed")
            }
            guard row["rejected"] as Int == 0 else {
                throw StoreError.conflict("image \(image) was refused at submit: its manifest line is what is wrong")
            }
            failed = [image]
        } else {
            failed = try String.fetchAll(db.cachedStatement(sql: """
                SELECT id FROM images INDEXED BY images_failed WHERE job_id = ? AND state = \(ImageState.failed.sql) AND rejected = 0 ORDER BY seq
                """), arguments: [jobId])
        }
        var unread = 0
        if job.state == .failed {
            try db.run("""
                UPDATE jobs SET state = \(JobState.running.sql), failure = NULL, finished_at = NULL WHERE id = ? AND \(JobState.sqlWhere(.failed, to: .running))
                """, [jobId])
            try db.run("UPDATE job_failures SET counted = 0 WHERE job_id = ?", [jobId])
            try appendEvent(db, at: at, kind: .jobRunning, job: jobId, reason: "retry of a failed job, \(failed.count) failed images")
            if image == nil { unread = try requeueUnread(db, jobId, availableAt: job.embeddingsSHA256 == nil ? nil : at, at: at) }
        }
        if failed.isEmpty {
            if unread > 0 { return unread }
            try finishJobIfComplete(db, jobId, at: at)
            return 0
        }
        let availableAt: Double? = job.embeddingsSHA256 == nil ? nil : at
        var batches: [(images: ArraySlice<String>, shard: Row?)] = []
        if job.options.tarShards {
            // A sample is read from its shard: the retried samples of a shard go to a new task of that shard.
            var byTask: [Int64: [String]] = [:], order: [Int64] = []
            for imageId in failed {
                guard let task = try db.value(Int64.self, "SELECT task_id FROM images WHERE job_id = ? AND id = ?", [jobId, imageId]) else { continue }
                if byTask[task] == nil { order.append(task) }
                byTask[task, default: []].append(imageId)
            }
            for task in order {
                let shard = try db.one("SELECT shard, manifest_last_line FROM tasks WHERE id = ?", [task])
                batches.append((byTask[task]![...], shard))
            }
        } else {
            let size = job.options.shardSize
            batches = stride(from: 0, to: failed.count, by: size).map { (failed[$0..<min($0 + size, failed.count)], nil) }
        }
        var newTasks = 0
        for (batch, shard) in batches {
            let taskId = try insertTask(db, job: jobId, imageCount: batch.count, availableAt: availableAt, at: at)
            if let shard {
                try db.run("UPDATE tasks SET shard = ?, manifest_last_line = ? WHERE id = ?",
                           [shard["shard"] as String?, shard["manifest_last_line"] as Int?, taskId])
            }
            newTasks += 1
            try appendEvent(db, at: at, kind: .taskCreated, job: jobId, task: taskId, reason: "retry of failed images")
            for imageId in batch {
                try db.run("""
                    UPDATE images SET state = \(ImageState.pending.sql), finished = 0, task_id = ?, error = NULL, updated_at = ?
                    WHERE job_id = ? AND id = ? AND \(ImageState.sqlWhere(.failed, to: .pending))
                    """, [taskId, at, jobId, imageId])
                try appendEvent(db, at: at, kind: .imagePending, job: jobId, task: taskId, image: imageId, reason: "retry")
            }
        }
        try db.run("UPDATE jobs SET task_count = task_count + ? WHERE id = ?", [newTasks, jobId])
        if job.state == .done {
            try db.run("""
                UPDATE jobs SET state = \(JobState.running.sql), finished_at = NULL WHERE id = ? AND \(JobState.sqlWhere(.done, to: .running))
                """, [jobId])
            try appendEvent(db, at: at, kind: .jobRunning, job: jobId, reason: "retry of \(failed.count) failed images")
        }
        return failed.count + unread
    }

    /// A failed job's tasks that were never leased: their images failed with the job by their task's count (they
    /// have no rows); each gets a new task naming the same lines, and the old one names none. Returns how many
    /// images.
    private func requeueUnread(_ db: Database, _ jobId: String, availableAt: Double?, at: Double) throws -> Int {
        let tasks = try db.all("""
            SELECT id, image_count, manifest_offset, manifest_line, manifest_end, manifest_last_line FROM tasks INDEXED BY tasks_unread
            WHERE job_id = ? AND manifest_offset IS NOT NULL AND state = \(TaskState.failed.sql) ORDER BY manifest_line
            """, [jobId])
        for task in tasks {
            try db.run("UPDATE tasks SET manifest_offset = NULL WHERE id = ?", [task["id"] as Int64])
            let lines = ManifestLines(offset: task["manifest_offset"], line: task["manifest_line"], end: task["manifest_end"],
                                      lastLine: task["manifest_last_line"])
            let retried = try insertTask(db, job: jobId, imageCount: task["image_count"], availableAt: availableAt, at: at, lines: lines)
            try appendEvent(db, at: at, kind: .taskCreated, job: jobId, task: retried, reason: "retry of task \(task["id"] as Int64), never leased")
        }
        let images = tasks.reduce(0) { $0 + ($1["image_count"] as Int) }
        try db.run("UPDATE jobs SET task_count = task_count + ? WHERE id = ?", [tasks.count, jobId])
        try db.run("UPDATE job_image_counts SET unfinished = unfinished + ?, failed = failed - ? WHERE job_id = ?", [images, images, jobId])
        return images
    }

    /// The first step of ending a job's open tasks (cancelling or failing the job): the attempts of live leases end
    /// with `outcome`, and every queued or leased task gets a `kind` event naming its holder.
    func endOpenTasks(_ db: Database, job: String, outcome: String, kind: EventKind, reason: String, at: Double) throws {
        try db.run("""
            UPDATE attempts SET ended_at = ?, seen_at = ?, outcome = ?
            WHERE ended_at IS NULL
              AND (task_id, number) IN (SELECT id, lease_count FROM tasks WHERE job_id = ? AND state = \(TaskState.leased.sql))
            """, [at, at, outcome, job])
        try db.run("""
            INSERT INTO events (at, job_id, task_id, image_id, worker_id, kind, reason)
            SELECT ?, job_id, id, NULL, CASE WHEN state = \(TaskState.leased.sql) THEN worker_id END, ?, ?
            FROM tasks WHERE job_id = ? AND \(TaskState.sqlIn(.queued, .leased))
            """, [at, kind.rawValue, reason, job])
    }

    /// The last step: the job's queued and leased tasks move to `target`, no lease left on any.
    func closeOpenTasks(_ db: Database, job: String, to target: TaskState, error: String?, at: Double) throws {
        try db.run("""
            UPDATE tasks SET state = \(target.sql), error = COALESCE(?, error), lease_expires_at = NULL, updated_at = ?
            WHERE job_id = ? AND \(TaskState.sqlWhere(.queued, .leased, to: target))
            """, [error, at, job])
    }

    /// Images not finished, or (a WebDataset job) shards not read to the end: their samples are not all known.
    package static let hasUnfinishedSQL = """
        SELECT unfinished > 0
            OR ((SELECT json_extract(options, '$.tarShards') FROM jobs WHERE id = ?1)
                AND (SELECT queued + leased FROM job_task_counts WHERE job_id = ?1) > 0)
        FROM job_image_counts WHERE job_id = ?1
        """

    /// Moves a running job to done when none of its images is pending or running any more: its count of unfinished
    /// images, which includes those of tasks never leased (they have no rows to look for).
    func finishJobIfComplete(_ db: Database, _ jobId: String, at: Double) throws {
        let unfinished = try db.value(Bool.self, Self.hasUnfinishedSQL, [jobId]) ?? true
        if unfinished { return }
        try db.run("""
            UPDATE jobs SET state = \(JobState.done.sql), finished_at = ? WHERE id = ? AND \(JobState.sqlWhere(.running, to: .done))
            """, [at, jobId])
        if db.changesCount > 0 {
            try appendEvent(db, at: at, kind: .jobDone, job: jobId)
            logger.info("job.done", metadata: ["job.id": "\(jobId)"])
        }
    }

    func jobState(_ db: Database, _ id: String) throws -> JobState {
        guard let raw = try db.value(String.self, "SELECT state FROM jobs WHERE id = ?", [id]) else {
            throw StoreError.notFound("job \(id) does not exist")
        }
        guard let state = JobState(rawValue: raw) else { throw StoreError(.io, "job \(id) has unknown state \(raw)") }
        return state
    }
}
