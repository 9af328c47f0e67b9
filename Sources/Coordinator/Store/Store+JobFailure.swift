import Foundation
import GRDB
import LabelAPI

/// Failures of a whole job, as opposed to one image's: a worker that could not prepare it (its model would not
/// load or verify, a blob is missing, the class embeddings are corrupt) or the coordinator itself (the class
/// embeddings cannot be computed). Such a failure never loops: each report is an attempt, and a job that keeps
/// failing ends `failed` with the reason.
extension Store {
    /// What `reportJobFailure` did with the task.
    public enum JobFailureOutcome: String, Codable, Sendable {
        /// Queued again for another worker.
        case requeued
        /// Out of attempts: the task and its unfinished images failed.
        case taskFailed
        /// The job failed as a whole.
        case jobFailed
    }

    public func reportJobFailure(taskId: Int64, token: String, reason: String) throws(StoreError) -> JobFailureOutcome {
        try write("reporting a job failure on task \(taskId)") { db in try reportJobFailure(db, taskId: taskId, token: token, reason: reason) }
    }

    /// The worker holding the lease on `taskId` could not prepare its job. The lease ends as a failed attempt and
    /// a `job.problem` event names the worker and the reason. When the job has had `maxAttempts` such reports
    /// since it last labeled an image (or was retried), the job fails with the reason: the next worker would
    /// most likely fail the same way. Otherwise the task is queued again, or dead-lettered when it has used its
    /// attempts. Fenced.
    public func reportJobFailure(_ db: Database, taskId: Int64, token: String, reason: String) throws -> JobFailureOutcome {
        let at = timestamp()
        let reason = Self.storedReason(reason.isEmpty ? "the worker could not prepare the job" : reason)
        let lease = try fenced(db, taskId: taskId, token: token, at: at)
        try closeAttempt(db, lease, outcome: "failed", at: at)
        try markSeen(db, worker: lease.worker, job: lease.jobId, at: at)
        try db.run("INSERT INTO job_failures (job_id, at, task_id, worker_id, reason) VALUES (?, ?, ?, ?, ?)",
                   [lease.jobId, at, taskId, lease.worker, reason])
        guard let row = try db.one("""
            SELECT j.max_attempts, t.attempts FROM tasks AS t JOIN jobs AS j ON j.id = t.job_id WHERE t.id = ?
            """, [taskId]) else { throw StoreError(.io, "task \(taskId) vanished") }
        let maxAttempts: Int = row["max_attempts"], attempts: Int = row["attempts"]
        let streak = try failureStreak(db, lease.jobId)
        if streak >= maxAttempts {
            try appendEvent(db, at: at, kind: .jobProblem, job: lease.jobId, task: taskId, worker: lease.worker, reason: reason)
            try failJob(db, lease.jobId, reason: "could not be prepared \(streak) times in a row; the last time: \(reason)", at: at)
            return .jobFailed
        }
        if attempts >= maxAttempts {
            try appendEvent(db, at: at, kind: .jobProblem, job: lease.jobId, task: taskId, worker: lease.worker, reason: reason)
            try deadLetter(db, lease, reason: "its job could not be prepared \(attempts) times; the last time: \(reason)", at: at)
            return .taskFailed
        }
        try requeue(db, lease, kind: .jobProblem, reason: reason, countAttempt: true, at: at)
        return .requeued
    }

    /// The job's failure reports since it last labeled an image or was retried.
    func failureStreak(_ db: Database, _ jobId: String) throws -> Int {
        try db.value(Int.self, """
            SELECT COUNT(*) FROM job_failures INDEXED BY job_failures_by_job
            WHERE job_id = :job AND counted = 1
              AND at > COALESCE((SELECT MAX(updated_at) FROM images INDEXED BY images_done WHERE job_id = :job AND state = \(ImageState.done.sql)), 0)
            """, ["job": jobId]) ?? 0
    }

    public func failJob(_ id: String, reason: String) throws(StoreError) {
        try write("failing job \(id)") { db in try failJob(db, id, reason: reason) }
    }

    /// The job fails as a whole with `reason`: its queued and leased tasks fail (so every live lease is stale), its
    /// pending and running images fail with the reason, and `job.failed` is written. Failing a failed job again is
    /// a no-op; a done or cancelled job is a `conflict`.
    public func failJob(_ db: Database, _ id: String, reason: String) throws {
        try failJob(db, id, reason: Self.storedReason(reason), at: timestamp())
    }

    func failJob(_ db: Database, _ id: String, reason: String, at: Double) throws {
        let state = try jobState(db, id)
        if state == .failed { return }
        guard state.canMove(to: .failed) else { throw StoreError.conflict("job \(id) is \(state.rawValue)") }
        let imageReason = "the job failed: \(reason)"
        try endOpenTasks(db, job: id, outcome: "failed", kind: .taskFailed, reason: reason, at: at)
        try db.run("""
            INSERT INTO events (at, job_id, task_id, image_id, worker_id, kind, reason)
            SELECT ?, job_id, task_id, id, NULL, ?, ?
            FROM images INDEXED BY images_unfinished WHERE job_id = ? AND finished = 0
            """, [at, EventKind.imageFailed.rawValue, imageReason, id])
        try db.run("""
            UPDATE images SET state = \(ImageState.failed.sql), finished = 1, error = ?, updated_at = ?
            WHERE job_id = ? AND finished = 0 AND \(ImageState.sqlWhere(.pending, .running, to: .failed))
            """, [imageReason, at, id])
        // Images of tasks never leased have no rows: they fail by their task's count.
        try db.run("""
            UPDATE job_image_counts SET unfinished = unfinished - n.images, failed = failed + n.images
            FROM (SELECT COALESCE(SUM(image_count), 0) AS images FROM tasks INDEXED BY tasks_unread
                  WHERE job_id = :job AND manifest_offset IS NOT NULL AND state = \(TaskState.queued.sql)) AS n
            WHERE job_id = :job
            """, ["job": id])
        try closeOpenTasks(db, job: id, to: .failed, error: reason, at: at)
        try db.run("""
            UPDATE jobs SET state = \(JobState.failed.sql), failure = ?, finished_at = ?
            WHERE id = ? AND \(JobState.sqlWhere(.preparing, .queued, .running, to: .failed))
            """, [reason, at, id])
        try appendEvent(db, at: at, kind: .jobFailed, job: id, reason: reason)
        logger.warning("job.failed", metadata: ["job.id": "\(id)", "reason": "\(reason)"])
    }

    /// Reasons are stored and served with every status: at most `MessageText.maxStoredCharacters` characters, and
    /// no URL's user information (a worker's message may quote an endpoint with its password).
    static func storedReason(_ reason: String) -> String {
        MessageText.clipped(MessageText.withoutCredentials(reason), to: MessageText.maxStoredCharacters)
    }
}
