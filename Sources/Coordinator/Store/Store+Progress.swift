import Foundation
import GRDB
import LabelAPI

/// Progress, computed from the stored rows (never from memory), on one read snapshot. The image counts use the
/// partial indexes `images_unfinished`, `images_done` and `images_failed`, pinned with `INDEXED BY` (no planner statistics).
extension Store {
    public func progress(_ jobId: String) throws(StoreError) -> JobProgress {
        try read("reading progress of job \(jobId)") { db in try progress(db, jobId) }
    }

    public func progress(_ db: Database, _ jobId: String) throws -> JobProgress {
        let at = timestamp()
        guard let job = try JobRecord.fetchOne(db.cachedStatement(sql: "SELECT * FROM jobs WHERE id = ?"), arguments: [jobId])
        else { throw StoreError.notFound("job \(jobId) does not exist") }
        var progress = JobProgress(jobId: jobId, state: job.state, createdAt: job.createdAt,
                                   startedAt: job.startedAt, finishedAt: job.finishedAt)
        let unfinished = try db.value(Int.self, """
            SELECT COUNT(*) FROM images INDEXED BY images_unfinished WHERE job_id = ? AND finished = 0
            """, [jobId]) ?? 0
        progress.images.running = try db.value(Int.self, """
            SELECT COUNT(*) FROM images
            WHERE task_id IN (SELECT id FROM tasks WHERE job_id = ? AND state IN ('leased', 'cancelled'))
              AND state = 'running'
            """, [jobId]) ?? 0
        progress.images.pending = unfinished - progress.images.running
        progress.images.done = try db.value(Int.self, """
            SELECT COUNT(*) FROM images INDEXED BY images_done WHERE job_id = ? AND state = 'done'
            """, [jobId]) ?? 0
        progress.images.failed = try db.value(Int.self, """
            SELECT COUNT(*) FROM images INDEXED BY images_failed WHERE job_id = ? AND state = 'failed'
            """, [jobId]) ?? 0
        var leasedTasks = 0
        for row in try db.all("""
            SELECT state, COUNT(*) AS n, SUM(lease_count) AS leases, SUM(lease_count > 0) AS leased_tasks,
                   SUM(expiries) AS expiries
            FROM tasks WHERE job_id = ? GROUP BY state
            """, [jobId]) {
            let n: Int = row["n"]
            switch TaskState(rawValue: row["state"]) {
            case .queued: progress.tasks.queued = n
            case .leased: progress.tasks.leased = n
            case .done: progress.tasks.done = n
            case .failed: progress.tasks.failed = n
            case .cancelled: progress.tasks.cancelled = n
            case nil: break
            }
            progress.attempts += row["leases"] as Int
            leasedTasks += row["leased_tasks"] as Int
            progress.leaseExpiries += row["expiries"] as Int
        }
        progress.retries = progress.attempts - leasedTasks
        progress.activeWorkers = try db.value(Int.self, """
            SELECT COUNT(*) FROM (
                SELECT id FROM workers WHERE last_job_id = ? AND last_seen_at >= ?
                UNION
                SELECT worker_id FROM tasks WHERE job_id = ? AND state = 'leased' AND lease_expires_at > ?)
            """, [jobId, at - 2 * job.options.leaseSeconds, jobId, at]) ?? 0
        progress.imagesDoneLastMinute = try db.value(Int.self, """
            SELECT COUNT(*) FROM images INDEXED BY images_done WHERE job_id = ? AND state = 'done' AND updated_at > ?
            """, [jobId, at - 60]) ?? 0
        progress.recentErrors = try db.all("""
            SELECT id, uri, error, updated_at FROM images INDEXED BY images_failed WHERE job_id = ? AND state = 'failed'
            ORDER BY updated_at DESC LIMIT 10
            """, [jobId]).map { row in
            JobProgress.ImageError(imageId: row["id"], uri: row["uri"], error: row["error"] ?? "failed",
                                   at: Date(timeIntervalSince1970: row["updated_at"]))
        }
        return progress
    }
}
