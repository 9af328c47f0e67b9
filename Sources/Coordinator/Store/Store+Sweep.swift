import Foundation
import GRDB
import LabelAPI

/// Ending leases that ran out. A reaper calls `sweepExpired` every second or so; claims never scan for them.
extension Store {
    /// The leases that ran out, from the partial index of leased tasks ordered by expiry (pinned: no statistics).
    package static let expiredSQL = """
        SELECT t.id, t.job_id, t.worker_id, t.lease_count, t.attempts, j.max_attempts
        FROM tasks AS t INDEXED BY tasks_leased_by_expiry CROSS JOIN jobs AS j ON j.id = t.job_id
        WHERE t.state = \(TaskState.leased.sql) AND t.lease_expires_at <= ?
        ORDER BY t.lease_expires_at
        """

    /// Ends every lease with `lease_expires_at <= now` (found through `tasks_leased_by_expiry`):
    /// - attempts left (`attempts < maxAttempts`): the task is queued again at once, its running images pending,
    ///   and a `lease.expired` event names the worker;
    /// - none left: dead letter: the task and its unfinished images fail with
    ///   "lease expired N times (last worker W)", then the job may be done.
    /// A task whose images are all done or failed is done instead. Returns how many tasks moved.
    public func sweepExpired() throws(StoreError) -> Int {
        try write("sweeping expired leases") { db in try sweepExpired(db) }
    }

    public func sweepExpired(_ db: Database) throws -> Int {
        let at = timestamp()
        let expired = try db.all(Self.expiredSQL, [at])
        for row in expired {
            let lease = Lease(taskId: row["id"], jobId: row["job_id"], worker: row["worker_id"], number: row["lease_count"])
            let attempts: Int = row["attempts"]
            let maxAttempts: Int = row["max_attempts"]
            try closeAttempt(db, lease, outcome: "expired", at: at)
            try db.run("UPDATE tasks SET expiries = expiries + 1 WHERE id = ?", [lease.taskId])
            let reason = "lease \(lease.number) of \(lease.worker) expired (attempt \(attempts) of \(maxAttempts))"
            if attempts < maxAttempts {
                try requeue(db, lease, kind: .leaseExpired, reason: reason, countAttempt: true, at: at)
            } else {
                try appendEvent(db, at: at, kind: .leaseExpired, job: lease.jobId, task: lease.taskId,
                                worker: lease.worker, reason: reason)
                try deadLetter(db, lease, reason: "lease expired \(attempts) times (last worker \(lease.worker))", at: at)
                logger.warning("task.dead_lettered", metadata: [
                    "task.id": "\(lease.taskId)", "job.id": "\(lease.jobId)", "worker.id": "\(lease.worker)",
                ])
            }
        }
        return expired.count
    }

    /// Ends a lease that did not finish the task: back to queued with its running images pending, or done when
    /// nothing is left to do. `countAttempt == false` (a release) gives the attempt back, the task's and its images'.
    func requeue(_ db: Database, _ lease: Lease, kind: EventKind, reason: String, countAttempt: Bool, at: Double) throws {
        if try !hasUnfinishedImages(db, taskId: lease.taskId) {
            try appendEvent(db, at: at, kind: kind, job: lease.jobId, task: lease.taskId, worker: lease.worker, reason: reason)
            try finishTask(db, lease, reason: "nothing left to do after: \(reason)", at: at)
            return
        }
        try appendTaskEvents(db, at: at, kind: kind, job: lease.jobId, task: lease.taskId, worker: lease.worker,
                             reason: reason, images: .running, imageKind: .imagePending, imageReason: reason)
        // A release gives the images' attempt back too: an interrupted run costs no image an attempt, in results either.
        try db.run("""
            UPDATE images SET state = \(ImageState.pending.sql), updated_at = ?, attempts = attempts - ?
            WHERE task_id = ? AND \(ImageState.sqlWhere(.running, to: .pending))
            """, [at, countAttempt ? 0 : 1, lease.taskId])
        try db.run("""
            UPDATE tasks SET state = \(TaskState.queued.sql), lease_expires_at = NULL, available_at = ?, updated_at = ?,
                             attempts = attempts - ?
            WHERE id = ? AND \(TaskState.sqlWhere(.leased, to: .queued))
            """, [at, at, countAttempt ? 0 : 1, lease.taskId])
    }

    /// The last allowed lease ran out: the task and its unfinished images fail.
    func deadLetter(_ db: Database, _ lease: Lease, reason: String, at: Double) throws {
        if try !hasUnfinishedImages(db, taskId: lease.taskId) {
            try finishTask(db, lease, reason: "nothing left to do after: \(reason)", at: at)
            return
        }
        try appendTaskEvents(db, at: at, kind: .taskFailed, job: lease.jobId, task: lease.taskId, worker: lease.worker,
                             reason: reason, images: .running, imageKind: .imageFailed, imageReason: reason)
        try db.run("""
            UPDATE images SET state = \(ImageState.failed.sql), finished = 1, error = ?, updated_at = ?
            WHERE task_id = ? AND \(ImageState.sqlWhere(.running, to: .failed))
            """, [reason, at, lease.taskId])
        try db.run("""
            UPDATE tasks SET state = \(TaskState.failed.sql), error = ?, lease_expires_at = NULL, updated_at = ?
            WHERE id = ? AND \(TaskState.sqlWhere(.leased, to: .failed))
            """, [reason, at, lease.taskId])
        try finishJobIfComplete(db, lease.jobId, at: at)
    }

    func hasUnfinishedImages(_ db: Database, taskId: Int64) throws -> Bool {
        try db.value(Bool.self, """
            SELECT EXISTS (SELECT 1 FROM images WHERE task_id = ? AND finished = 0)
            """, [taskId]) ?? false
    }
}
