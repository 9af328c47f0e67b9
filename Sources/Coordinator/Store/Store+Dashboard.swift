import Foundation
import GRDB
import LabelAPI

/// What the dashboard reads and keeps: a page of jobs, a job's activity, sign-in sessions.
extension Store {
    /// Jobs newest first, `limit` of them from `offset`, and how many there are.
    public func jobsPage(_ db: Database, limit: Int, offset: Int) throws -> (jobs: [JobRecord], total: Int) {
        let jobs = try JobRecord.fetchAll(db.cachedStatement(sql: """
            SELECT * FROM jobs ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?
            """), arguments: [max(0, limit), max(0, offset)])
        return (jobs, try db.value(Int.self, "SELECT COUNT(*) FROM jobs") ?? 0)
    }

    /// The job's workers (merged by name: a worker's restarts share it) and its last 1,440 minutes with activity.
    public func activity(_ db: Database, job: String) throws -> JobActivity {
        let at = timestamp()
        var current: [String: Int64] = [:]
        for row in try db.all("""
            SELECT worker_id, MIN(id) AS task FROM tasks INDEXED BY tasks_leased_by_job WHERE job_id = ? AND state = \(TaskState.leased.sql)
            GROUP BY worker_id
            """, [job]) {
            if let worker: String = row["worker_id"] { current[worker] = row["task"] }
        }
        var byName: [String: JobActivity.Worker] = [:]
        for row in try db.all("""
            SELECT w.worker_id, COALESCE(workers.name, w.worker_id) AS name, w.done, w.failed, w.last_at, w.window_at,
                   w.window_done, w.rate, workers.last_seen_at
            FROM job_workers AS w LEFT JOIN workers ON workers.id = w.worker_id WHERE w.job_id = ?
            """, [job]) {
            let worker: String = row["worker_id"], name: String = row["name"]
            let lastAt: Double = row["last_at"], windowAt: Double = row["window_at"]
            let windowDone: Int = row["window_done"], fullWindow: Double = row["rate"]
            // The last full minute's rate, or the current window's when that is older than ten seconds; nothing
            // once the worker has finished no image of this job for a minute.
            let age = at - windowAt
            let rate = at - lastAt > 60 ? 0 : (age < 10 && fullWindow > 0 ? fullWindow : Double(windowDone) / max(age, 1))
            let seen = max(lastAt, (row["last_seen_at"] as Double?) ?? lastAt)
            var entry = byName[name] ?? .init(name: name, imagesDone: 0, imagesFailed: 0, imagesPerSecond: 0, lastSeenAt: 0, currentTask: nil)
            entry.imagesDone += row["done"] as Int
            entry.imagesFailed += row["failed"] as Int
            entry.imagesPerSecond += rate
            entry.lastSeenAt = max(entry.lastSeenAt, seen)
            entry.currentTask = entry.currentTask ?? current.removeValue(forKey: worker)
            byName[name] = entry
        }
        // Workers holding a task of the job that have not finished an image of it yet.
        for (worker, task) in current {
            let row = try db.one("SELECT COALESCE(name, id) AS name, last_seen_at FROM workers WHERE id = ?", [worker])
            let name: String = row?["name"] ?? worker
            var entry = byName[name] ?? .init(name: name, imagesDone: 0, imagesFailed: 0, imagesPerSecond: 0,
                                              lastSeenAt: row?["last_seen_at"] ?? 0, currentTask: nil)
            entry.currentTask = entry.currentTask ?? task
            byName[name] = entry
        }
        let minutes = try db.all("""
            SELECT minute, done, failed FROM job_minutes WHERE job_id = ? ORDER BY minute DESC LIMIT 1440
            """, [job]).reversed().map { row in
            JobActivity.Minute(at: Double(row["minute"] as Int64) * 60, done: row["done"], failed: row["failed"])
        }
        let workers = byName.values.sorted { ($0.currentTask != nil ? 0 : 1, -$0.lastSeenAt, $0.name) < ($1.currentTask != nil ? 0 : 1, -$1.lastSeenAt, $1.name) }
        let (classes, counted) = try classPixels(db, job: job)
        return JobActivity(workers: workers, minutes: minutes, classes: classes, countedImages: counted)
    }

    // MARK: Sessions

    /// Records a new session (expired ones go at the same time).
    public func createSession(_ db: Database, idSHA256: String, csrfToken: String, lifetime: Double) throws {
        let at = timestamp()
        try db.run("DELETE FROM ui_sessions WHERE expires_at <= ?", [at])
        try db.run("INSERT INTO ui_sessions (id_sha256, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?)",
                   [idSHA256, csrfToken, at, at + lifetime])
    }

    /// The CSRF token of a live session, or nil.
    public func session(_ db: Database, idSHA256: String) throws -> String? {
        try db.value(String.self, "SELECT csrf_token FROM ui_sessions WHERE id_sha256 = ? AND expires_at > ?", [idSHA256, timestamp()])
    }

    public func deleteSession(_ db: Database, idSHA256: String) throws {
        try db.run("DELETE FROM ui_sessions WHERE id_sha256 = ?", [idSHA256])
    }
}
