import Foundation
import GRDB
import LabelAPI

/// Keeping and giving back a lease. Every call is fenced: it acts only with the task's current, unexpired lease
/// token (an expired lease that was not swept yet is stale too), else it changes nothing and throws `staleLease`.
extension Store {
    /// The current holder of a fenced task.
    struct Lease {
        var taskId: Int64
        var jobId: String
        var worker: String
        var number: Int
    }

    /// The SQL guard of every fenced statement (bind task id, token, now).
    static let fence = "id = ? AND state = \(TaskState.leased.sql) AND lease_token = ? AND lease_expires_at > ?"

    /// Extends the lease by `leaseSeconds` (default: the job's) from now; returns the new expiry.
    public func heartbeat(taskId: Int64, token: String, leaseSeconds: Double? = nil) throws(StoreError) -> Date {
        try write("heartbeat of task \(taskId)") { db in try heartbeat(db, taskId: taskId, token: token, leaseSeconds: leaseSeconds) }
    }

    public func heartbeat(_ db: Database, taskId: Int64, token: String, leaseSeconds: Double? = nil) throws -> Date {
        if let leaseSeconds, !(leaseSeconds > 0 && leaseSeconds.isFinite) {
            throw StoreError.invalid("leaseSeconds must be a positive number")
        }
        let at = timestamp()
        let row = try db.one("""
            UPDATE tasks SET updated_at = ?,
                lease_expires_at = ? + COALESCE(?, (SELECT lease_seconds FROM jobs WHERE jobs.id = tasks.job_id))
            WHERE \(Self.fence)
            RETURNING job_id, worker_id, lease_count, lease_expires_at
            """, [at, at, leaseSeconds, taskId, token, at])
        guard let row else { throw try staleLease(db, taskId: taskId, token: token, at: at) }
        try db.run("UPDATE attempts SET seen_at = ? WHERE task_id = ? AND number = ?", [at, taskId, row["lease_count"] as Int])
        try markSeen(db, worker: row["worker_id"], job: row["job_id"], at: at)
        return Date(timeIntervalSince1970: row["lease_expires_at"])
    }

    /// Gives the task back (the worker was asked to stop): it is queued again at once and this lease does not
    /// count against `maxAttempts`; its running images become pending.
    public func release(taskId: Int64, token: String, reason: String) throws(StoreError) {
        try write("releasing task \(taskId)") { db in try release(db, taskId: taskId, token: token, reason: reason) }
    }

    public func release(_ db: Database, taskId: Int64, token: String, reason: String) throws {
        let at = timestamp()
        let lease = try fenced(db, taskId: taskId, token: token, at: at)
        try closeAttempt(db, lease, outcome: "released", at: at)
        try markSeen(db, worker: lease.worker, job: lease.jobId, at: at)
        try requeue(db, lease, kind: .taskReleased, reason: reason, countAttempt: false, at: at)
    }

    /// The lease behind a token, or the reason there is none.
    func fenced(_ db: Database, taskId: Int64, token: String, at: Double) throws -> Lease {
        guard let row = try db.one("SELECT job_id, worker_id, lease_count FROM tasks WHERE \(Self.fence)",
                                   [taskId, token, at])
        else { throw try staleLease(db, taskId: taskId, token: token, at: at) }
        return Lease(taskId: taskId, jobId: row["job_id"], worker: row["worker_id"], number: row["lease_count"])
    }

    /// Why a fenced statement matched nothing: the task is missing (`notFound`) or the token is stale.
    func staleLease(_ db: Database, taskId: Int64, token: String, at: Double) throws -> StoreError {
        guard let row = try db.one("SELECT state, lease_token, lease_expires_at FROM tasks WHERE id = ?", [taskId]) else {
            return .notFound("task \(taskId) does not exist")
        }
        let state: String = row["state"]
        if row["lease_token"] as String? != token {
            return .staleLease("task \(taskId): the lease token is not the current one (task is \(state))")
        }
        if state == TaskState.leased.rawValue, let expiry = row["lease_expires_at"] as Double?, expiry <= at {
            return .staleLease("task \(taskId): the lease expired \(Int((at - expiry).rounded())) s ago")
        }
        return .staleLease("task \(taskId): the lease has ended (task is \(state))")
    }

    /// Notes that `worker` was active on `job` (progress counts it as an active worker for a while).
    func markSeen(_ db: Database, worker: String, job: String, at: Double) throws {
        try db.run("UPDATE workers SET last_seen_at = ?, last_job_id = ? WHERE id = ?", [at, job, worker])
    }

    func closeAttempt(_ db: Database, _ lease: Lease, outcome: String, at: Double) throws {
        try db.run("""
            UPDATE attempts SET ended_at = ?, seen_at = ?, outcome = ? WHERE task_id = ? AND number = ? AND ended_at IS NULL
            """, [at, at, outcome, lease.taskId, lease.number])
    }
}

extension Store {
    public func releaseAllLeases(reason: String) throws(StoreError) -> Int {
        try write("releasing every lease") { db in try releaseAllLeases(db, reason: reason) }
    }

    /// Gives back every live lease at once, as if each holder had released it (attempts are not counted): for an
    /// embedded coordinator whose previous process, and every worker it ran, is gone (`labelmill run` again).
    public func releaseAllLeases(_ db: Database, reason: String) throws -> Int {
        let at = timestamp()
        let leases = try db.all("SELECT id, job_id, worker_id, lease_count FROM tasks WHERE state = \(TaskState.leased.sql)").map {
            Lease(taskId: $0["id"], jobId: $0["job_id"], worker: $0["worker_id"], number: $0["lease_count"])
        }
        for lease in leases {
            try closeAttempt(db, lease, outcome: "released", at: at)
            try requeue(db, lease, kind: .taskReleased, reason: reason, countAttempt: false, at: at)
        }
        return leases.count
    }
}
