import Foundation
import GRDB
import LabelAPI

/// Progress, read from the stored rows (never from memory), on one read snapshot. The image counts come from
/// `job_image_counts`, which job creation writes and a trigger keeps as images change (debug builds check them against a count of the rows);
/// the rest uses partial indexes, pinned with `INDEXED BY` (no planner statistics), so a status costs about the
/// same for ten images as for a million.
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
        let counts = try imageCounts(db, jobId)
        // Running: images marked running in a task that is still leased (or was cancelled while leased); an
        // image marked running in a task that went back to the queue is pending.
        progress.images.running = try db.value(Int.self, """
            SELECT COUNT(*) FROM images INDEXED BY images_running JOIN tasks ON tasks.id = images.task_id
            WHERE images.job_id = ? AND images.state = \(ImageState.running.sql) AND \(TaskState.sqlIn(.leased, .cancelled, column: "tasks.state"))
            """, [jobId]) ?? 0
        progress.images.pending = counts.unfinished - progress.images.running
        progress.images.done = counts.done
        progress.images.failed = counts.failed
        let tasks = try taskCounts(db, jobId)
        progress.tasks.queued = tasks["queued", default: 0]
        progress.tasks.leased = tasks["leased", default: 0]
        progress.tasks.done = tasks["done", default: 0]
        progress.tasks.failed = tasks["failed", default: 0]
        progress.tasks.cancelled = tasks["cancelled", default: 0]
        progress.attempts = tasks["leases", default: 0]
        progress.leaseExpiries = tasks["expiries", default: 0]
        progress.retries = progress.attempts - tasks["leased_tasks", default: 0]
        // By name: a worker restarted under its name (`run` again after Ctrl-C) is one worker, not two.
        progress.activeWorkers = try db.value(Int.self, """
            SELECT COUNT(DISTINCT COALESCE(name, id)) FROM workers
            WHERE (last_job_id = ? AND last_seen_at >= ?)
               OR id IN (SELECT worker_id FROM tasks INDEXED BY tasks_leased_by_job
                         WHERE job_id = ? AND state = \(TaskState.leased.sql) AND lease_expires_at > ?)
            """, [jobId, at - 2 * job.options.leaseSeconds, jobId, at]) ?? 0
        // The rate's window: the last minute, or since the job started when that is less.
        let since = max(at - 60, job.startedAt?.timeIntervalSince1970 ?? at)
        progress.recentSeconds = at - since
        progress.imagesDoneRecently = try db.value(Int.self, """
            SELECT COUNT(*) FROM images INDEXED BY images_done WHERE job_id = ? AND state = \(ImageState.done.sql) AND updated_at >= ?
            """, [jobId, since]) ?? 0
        if job.state.isFinished { progress.activeWorkers = 0 }
        progress.problems = try jobProblems(db, jobId) + imageProblems(db, jobId)
        progress.lastProgressAt = try db.value(Double.self, """
            SELECT MAX(last) FROM (
                SELECT MAX(updated_at) AS last FROM images INDEXED BY images_done WHERE job_id = :job AND state = \(ImageState.done.sql)
                UNION ALL
                SELECT MAX(updated_at) FROM images INDEXED BY images_failed WHERE job_id = :job AND state = \(ImageState.failed.sql))
            """, ["job": jobId]).map(Date.init(timeIntervalSince1970:))
        progress.failure = job.failure
        progress.recentErrors = try db.all("""
            SELECT id, uri, error, updated_at FROM images INDEXED BY images_failed WHERE job_id = ? AND state = \(ImageState.failed.sql)
            ORDER BY updated_at DESC LIMIT 10
            """, [jobId]).map { row in
            JobProgress.ImageError(imageId: row["id"], uri: row["uri"], error: row["error"] ?? "failed",
                                   at: Date(timeIntervalSince1970: row["updated_at"]))
        }
        return progress
    }

    /// Whether reading the kept counts also counts the rows and stops on a difference: in debug builds, and where
    /// LABELMILL_CHECK_COUNTS=1 (`scripts/test` sets it: the tests run on the release build).
    static let checksCounts: Bool = {
        #if DEBUG
        true
        #else
        ProcessInfo.processInfo.environment["LABELMILL_CHECK_COUNTS"] == "1"
        #endif
    }()

    /// The job's image counts as the triggers keep them; with `checksCounts`, the rows (and the images of tasks never
    /// leased, which have none: failed with their task or pending) are counted too.
    package func imageCounts(_ db: Database, _ jobId: String) throws -> (unfinished: Int, done: Int, failed: Int) {
        let row = try db.one("SELECT unfinished, done, failed FROM job_image_counts WHERE job_id = ?", [jobId])
        let kept = (unfinished: row?["unfinished"] ?? 0, done: row?["done"] ?? 0, failed: row?["failed"] ?? 0) as (unfinished: Int, done: Int, failed: Int)
        guard Self.checksCounts else { return kept }
        let counted = try db.one("""
            SELECT (SELECT COUNT(*) FROM images INDEXED BY images_unfinished WHERE job_id = :job AND finished = 0)
                   + (SELECT COALESCE(SUM(image_count), 0) FROM tasks INDEXED BY tasks_unread
                      WHERE job_id = :job AND manifest_offset IS NOT NULL AND state <> \(TaskState.failed.sql)) AS unfinished,
                   (SELECT COUNT(*) FROM images INDEXED BY images_done WHERE job_id = :job AND state = \(ImageState.done.sql)) AS done,
                   (SELECT COUNT(*) FROM images INDEXED BY images_failed WHERE job_id = :job AND state = \(ImageState.failed.sql))
                   + (SELECT COALESCE(SUM(image_count), 0) FROM tasks INDEXED BY tasks_unread
                      WHERE job_id = :job AND manifest_offset IS NOT NULL AND state = \(TaskState.failed.sql)) AS failed
            """, ["job": jobId])
        let truth = (unfinished: counted?["unfinished"] ?? 0, done: counted?["done"] ?? 0, failed: counted?["failed"] ?? 0) as (unfinished: Int, done: Int, failed: Int)
        precondition(kept == truth, "job_image_counts of \(jobId) is \(kept), the rows say \(truth)")
        return kept
    }

    static let taskCountColumns = ["queued", "leased", "done", "failed", "cancelled", "leases", "leased_tasks", "expiries"]

    /// The job's task counts as the triggers keep them (`job_task_counts`); with `checksCounts`, the rows are
    /// counted too.
    func taskCounts(_ db: Database, _ jobId: String) throws -> [String: Int] {
        let row = try db.one("SELECT \(Self.taskCountColumns.joined(separator: ", ")) FROM job_task_counts WHERE job_id = ?", [jobId])
        let kept = Dictionary(uniqueKeysWithValues: Self.taskCountColumns.map { ($0, row?[$0] as Int? ?? 0) })
        guard Self.checksCounts else { return kept }
        let counted = try db.one("""
            SELECT SUM(state = \(TaskState.queued.sql)) AS queued, SUM(state = \(TaskState.leased.sql)) AS leased, SUM(state = \(TaskState.done.sql)) AS done,
                   SUM(state = \(TaskState.failed.sql)) AS failed, SUM(state = \(TaskState.cancelled.sql)) AS cancelled, SUM(lease_count) AS leases,
                   SUM(lease_count > 0) AS leased_tasks, SUM(expiries) AS expiries
            FROM tasks WHERE job_id = ?
            """, [jobId])
        let truth = Dictionary(uniqueKeysWithValues: Self.taskCountColumns.map { ($0, counted?[$0] as Int? ?? 0) })
        precondition(kept == truth, "job_task_counts of \(jobId) is \(kept), the rows say \(truth)")
        return kept
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
    /// its URI, id and manifest line number replaced by `{uri}`, `{id}` and `{line}`, so "the same failure" groups
    /// across images. Errors are stored
    /// clipped and the replacing is linear, so this costs the same whatever the manifest's lines held.
    func imageProblems(_ db: Database, _ jobId: String) throws -> [JobProgress.Problem] {
        var groups: [String: JobProgress.Problem] = [:]
        for row in try db.all("""
            SELECT id, uri, error, updated_at FROM images INDEXED BY images_failed WHERE job_id = ? AND state = \(ImageState.failed.sql)
            ORDER BY updated_at DESC LIMIT 1000
            """, [jobId]) {
            let id: String = row["id"], uri: String = row["uri"], at = Date(timeIntervalSince1970: row["updated_at"])
            var reason = String((row["error"] as String? ?? "failed").prefix(MessageText.maxStoredCharacters))
            if !uri.isEmpty { reason = MessageText.replacing(uri, with: "{uri}", in: reason) }
            if id.utf8.count > 2 { reason = MessageText.replacing(id, with: "{id}", in: reason) }
            reason = Self.lineNumberReplaced(reason)
            groups[reason, default: JobProgress.Problem(scope: .image, reason: reason, count: 0, lastAt: at, examples: [])].count += 1
            if groups[reason]!.examples.count < 3 { groups[reason]!.examples.append(id) }
        }
        return groups.values.sorted { ($0.count, $0.lastAt) > ($1.count, $1.lastAt) }.prefix(10).map { $0 }
    }

    /// "manifest line 17: …" as "manifest line {line}: …"; other reasons as they are.
    static func lineNumberReplaced(_ reason: String) -> String {
        let prefix = "manifest line "
        guard reason.hasPrefix(prefix) else { return reason }
        let rest = reason.dropFirst(prefix.count)
        let digits = rest.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, rest.dropFirst(digits.count).hasPrefix(":") else { return reason }
        return prefix + "{line}" + rest.dropFirst(digits.count)
    }
}
