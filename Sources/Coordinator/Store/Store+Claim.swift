import Foundation
import GRDB
import LabelAPI

/// Leasing work to workers.
extension Store {
    /// The claimable tasks as of `:now`: `tasks_claimable` (queued tasks with embeddings, in id order) walked to
    /// the first whose job is active. The plan is pinned (`INDEXED BY`, and `CROSS JOIN` keeps tasks as the
    /// outer loop) because the store keeps no planner statistics.
    static let claimableSQL = """
        SELECT t.id FROM tasks AS t INDEXED BY tasks_claimable CROSS JOIN jobs AS j ON j.id = t.job_id
        WHERE t.state = \(TaskState.queued.sql) AND t.available_at <= :now
          AND \(JobState.sqlIn(.preparing, .queued, .running, column: "j.state")) AND j.embeddings_sha256 IS NOT NULL
        """

    /// The claim itself: one UPDATE of the first claimable task.
    package static let claimSQL = """
        UPDATE tasks
        SET state = \(TaskState.leased.sql), lease_token = :token, worker_id = :worker, updated_at = :now,
            lease_expires_at = :now + COALESCE(:lease, (SELECT lease_seconds FROM jobs WHERE jobs.id = tasks.job_id)),
            attempts = attempts + 1, lease_count = lease_count + 1
        WHERE id = (\(claimableSQL) ORDER BY t.id LIMIT 1)
          AND \(TaskState.sqlWhere(.queued, to: .leased))
        RETURNING id, job_id, lease_expires_at, lease_count, manifest_offset, manifest_line, manifest_end, manifest_last_line, shard
        """

    /// Leases the oldest claimable task to `worker` for `leaseSeconds` (default: the job's `leaseSeconds`), or
    /// returns nil when there is none. In the same transaction: the task's pending images become running (at its
    /// first lease, a task that names manifest lines gets their rows, running), an attempts row and a `task.leased`
    /// event are written (its images' running is implied, not an event each), a queued job starts running, and the
    /// worker is marked seen.
    /// `name` is the worker's stable name (`--name`), recorded for per-worker figures that outlive its restarts.
    public func claim(worker: String, name: String? = nil, leaseSeconds: Double? = nil) throws(StoreError) -> ClaimedTask? {
        try write("claiming a task for \(worker)") { db in try claim(db, worker: worker, name: name, leaseSeconds: leaseSeconds) }
    }

    public func claim(_ db: Database, worker: String, name: String? = nil, leaseSeconds: Double? = nil) throws -> ClaimedTask? {
        try Self.validateWorker(worker)
        if let name { try Self.validateWorker(name) }
        if let leaseSeconds, !(leaseSeconds > 0 && leaseSeconds.isFinite) {
            throw StoreError.invalid("leaseSeconds must be a positive number")
        }
        let token = Self.randomHex(bits: 128)
        let at = timestamp()
        let arguments: StatementArguments = ["token": token, "worker": worker, "now": at, "lease": leaseSeconds]
        guard let leased = try db.one(Self.claimSQL, arguments) else {
            try db.run("""
                INSERT INTO workers (id, first_seen_at, last_seen_at, name) VALUES (?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET last_seen_at = excluded.last_seen_at
                """, [worker, at, at, name])
            return nil
        }
        let taskId: Int64 = leased["id"]
        let jobId: String = leased["job_id"]
        let number: Int = leased["lease_count"]
        // tasks.worker_id and attempts.worker_id are deferred foreign keys: the worker row may come last.
        try db.run("""
            INSERT INTO workers (id, first_seen_at, last_seen_at, last_job_id, lease_count, name) VALUES (?, ?, ?, ?, 1, ?)
            ON CONFLICT (id) DO UPDATE SET last_seen_at = excluded.last_seen_at, last_job_id = excluded.last_job_id,
                                           lease_count = lease_count + 1
            """, [worker, at, at, jobId, name])
        try appendEvent(db, at: at, kind: .taskLeased, job: jobId, task: taskId, worker: worker, reason: "lease \(number)")
        // (Not subqueries in RETURNING: SQLite plans those as scans of jobs.)
        guard let job = try db.one("""
            SELECT state, model_id, embeddings_sha256, manifest_path FROM jobs WHERE id = ?
            """, [jobId]) else {
            throw StoreError(.io, "task \(taskId) belongs to a missing job \(jobId)")
        }
        var images: [ClaimedTask.Image] = []
        var shard = leased["shard"] as String?
        // A shard's task has its URI from its first lease on; at that lease it names its manifest line.
        if shard == nil, leased["manifest_offset"] as Int64? != nil,
           try db.value(Bool.self, "SELECT json_extract(options, '$.tarShards') FROM jobs WHERE id = ?", [jobId]) == true {
            shard = try readShard(db, task: taskId, manifest: job["manifest_path"], leased: leased)
        }
        if shard != nil {
            // Samples declared by an earlier lease and not finished are this lease's to label (`declareSamples`).
            try db.run("""
                UPDATE images SET state = \(ImageState.running.sql), attempts = attempts + 1, updated_at = ?
                WHERE task_id = ? AND \(ImageState.sqlWhere(.pending, to: .running))
                """, [at, taskId])
        } else if let offset = leased["manifest_offset"] as Int64?, let manifest = job["manifest_path"] as String? {
            let lines = ManifestLines(offset: offset, line: leased["manifest_line"], end: leased["manifest_end"],
                                      lastLine: leased["manifest_last_line"])
            images = try readLines(db, job: jobId, task: taskId, manifest: manifestPath(manifest), lines: lines, at: at)
        } else {
            images = try db.all(Self.claimImagesSQL, [at, taskId])
                .map { (seq: $0["seq"] as Int, image: ClaimedTask.Image(id: $0["id"], uri: $0["uri"])) }
                .sorted { $0.seq < $1.seq }
                .map(\.image)
        }
        try db.run("""
            INSERT INTO attempts (task_id, number, job_id, worker_id, token, started_at, seen_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """, [taskId, number, jobId, worker, token, at, at])
        switch job["state"] as String {
        case JobState.queued.rawValue:
            try db.run("""
                UPDATE jobs SET state = \(JobState.running.sql), started_at = ? WHERE id = ? AND \(JobState.sqlWhere(.queued, to: .running))
                """, [at, jobId])
            try appendEvent(db, at: at, kind: .jobRunning, job: jobId, worker: worker)
        case JobState.preparing.rawValue:
            // It starts running once its manifest is read (`finishPreparation`); until then it only records when.
            try db.run("UPDATE jobs SET started_at = ? WHERE id = ? AND started_at IS NULL", [at, jobId])
        default:
            break
        }
        return ClaimedTask(
            taskId: taskId, jobId: jobId, token: token, expiresAt: Date(timeIntervalSince1970: leased["lease_expires_at"]),
            attempt: number, modelId: job["model_id"], embeddingsSHA256: job["embeddings_sha256"], images: images, shard: shard)
    }

    /// A shard task's first lease: its URI, from its manifest line, kept in the task for every later lease.
    private func readShard(_ db: Database, task: Int64, manifest: String?, leased: Row) throws -> String {
        guard let offset = leased["manifest_offset"] as Int64?, let manifest else {
            throw StoreError(.io, "task \(task) of a WebDataset job names no shard")
        }
        let lines = ManifestLines(offset: offset, line: leased["manifest_line"], end: leased["manifest_end"],
                                  lastLine: leased["manifest_last_line"])
        guard let item = lines.items(in: manifestPath(manifest))?.first else {
            throw StoreError(.io, "the manifest \(manifest) is missing or shorter than it was: task \(task) cannot be read")
        }
        try db.run("UPDATE tasks SET shard = ?, manifest_offset = NULL WHERE id = ?", [item.uri, task])
        return item.uri
    }

    static let claimImagesSQL = """
        UPDATE images SET state = \(ImageState.running.sql), attempts = attempts + 1, updated_at = ?
        WHERE task_id = ? AND \(ImageState.sqlWhere(.pending, to: .running))
        RETURNING seq, id, uri
        """

    static let insertRunningImageSQL = """
        INSERT INTO images (job_id, seq, id, uri, line, task_id, state, attempts, finished, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, 'running', 1, 0, ?) ON CONFLICT (job_id, seq) DO NOTHING
        """

    /// A task's first lease: the rows of the images its manifest lines name, running (`seq` their line). A refused
    /// line has its row already and is left alone; the task then has rows like any other.
    private func readLines(_ db: Database, job: String, task: Int64, manifest: String, lines: ManifestLines, at: Double) throws
        -> [ClaimedTask.Image]
    {
        guard let items = lines.items(in: manifest) else {
            throw StoreError(.io, "the manifest of job \(job) (\(manifest)) is missing: task \(task) cannot be read")
        }
        var images: [ClaimedTask.Image] = []
        let insert = try db.cachedStatement(sql: Self.insertRunningImageSQL)
        for item in items {
            try insert.execute(arguments: [job, item.line, item.id, item.uri, item.line, task, at])
            if db.changesCount == 1 { images.append(ClaimedTask.Image(id: item.id, uri: item.uri)) }
        }
        try db.run("UPDATE tasks SET manifest_offset = NULL WHERE id = ?", [task])
        return images
    }

    /// Whether a claim would find a task now: the claim's own search, read-only (long polls check this before
    /// they write).
    public func hasClaimableTask(_ db: Database) throws -> Bool {
        try db.value(Bool.self, "SELECT EXISTS (\(Self.claimableSQL))", ["now": timestamp()]) ?? false
    }

    static func validateWorker(_ worker: String) throws(StoreError) {
        if worker.isEmpty || worker.utf8.count > 200 { throw .invalid("worker id must be 1 to 200 bytes") }
        if worker.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw .invalid("worker id \(worker.debugDescription) contains control characters")
        }
    }
}
