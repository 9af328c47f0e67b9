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
        // The rate's window: the last minute, or since the job started when that is less.
        let since = max(at - 60, job.startedAt?.timeIntervalSince1970 ?? at)
        progress.recentSeconds = at - since
        progress.imagesDoneRecently = try db.value(Int.self, """
            SELECT COUNT(*) FROM images INDEXED BY images_done WHERE job_id = ? AND state = 'done' AND updated_at >= ?
            """, [jobId, since]) ?? 0
        if job.state.isFinished { progress.activeWorkers = 0 }
        progress.problems = try jobProblems(db, jobId) + imageProblems(db, jobId)
        progress.lastProgressAt = try db.value(Double.self, """
            SELECT MAX(last) FROM (
                SELECT MAX(updated_at) AS last FROM images INDEXED BY images_done WHERE job_id = :job AND state = 'done'
                UNION ALL
                SELECT MAX(updated_at) FROM images INDEXED BY images_failed WHERE job_id = :job AND state = 'failed')
            """, ["job": jobId]).map(Date.init(timeIntervalSince1970:))
        progress.failure = job.failure
        progress.recentErrors = try db.all("""
            SELECT id, uri, error, updated_at FROM images INDEXED BY images_failed WHERE job_id = ? AND state = 'failed'
            ORDER BY updated_at DESC LIMIT 10
            """, [jobId]).map { row in
            JobProgress.ImageError(imageId: row["id"], uri: row["uri"], error: row["error"] ?? "failed",
                                   at: Date(timeIntervalSince1970: row["updated_at"]))
        }
        return progress
    }

    /// Workers' reports that they could not prepare the job, grouped by reason, the most recent reasons first.
    func jobProblems(_ db: Database, _ jobId: String) throws -> [JobProgress.Problem] {
        try db.all("""
            SELECT reason, COUNT(*) AS n, MAX(at) AS last FROM job_failures INDEXED BY job_failures_by_job
            WHERE job_id = ? GROUP BY reason ORDER BY last DESC LIMIT 5
            """, [jobId]).map { row in
            let reason: String = row["reason"]
            let workers = try String.fetchAll(db.cachedStatement(sql: """
                SELECT DISTINCT COALESCE(worker_id, 'coordinator') FROM job_failures INDEXED BY job_failures_by_job
                WHERE job_id = ? AND reason = ? ORDER BY at DESC LIMIT 3
                """), arguments: [jobId, reason])
            return JobProgress.Problem(scope: .job, reason: reason, count: row["n"], lastAt: Date(timeIntervalSince1970: row["last"]),
                                       examples: workers)
        }
    }

    /// The last 1,000 failed images grouped by reason, the most frequent first. A reason is the image's error with
    /// its URI and id replaced by `{uri}` and `{id}`, so "the same failure" groups across images.
    func imageProblems(_ db: Database, _ jobId: String) throws -> [JobProgress.Problem] {
        var groups: [String: JobProgress.Problem] = [:]
        for row in try db.all("""
            SELECT id, uri, error, updated_at FROM images INDEXED BY images_failed WHERE job_id = ? AND state = 'failed'
            ORDER BY updated_at DESC LIMIT 1000
            """, [jobId]) {
            let id: String = row["id"], uri: String = row["uri"], at = Date(timeIntervalSince1970: row["updated_at"])
            var reason: String = row["error"] ?? "failed"
            if !uri.isEmpty { reason = reason.replacingOccurrences(of: uri, with: "{uri}") }
            if id.count > 2 { reason = reason.replacingOccurrences(of: id, with: "{id}") }
            groups[reason, default: JobProgress.Problem(scope: .image, reason: reason, count: 0, lastAt: at, examples: [])].count += 1
            if groups[reason]!.examples.count < 3 { groups[reason]!.examples.append(id) }
        }
        return groups.values.sorted { ($0.count, $0.lastAt) > ($1.count, $1.lastAt) }.prefix(10).map { $0 }
    }
}
