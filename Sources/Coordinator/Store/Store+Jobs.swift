import Foundation
import GRDB
import Support
import LabelAPI

/// Creating and reading jobs.
///
/// A job is created in two steps: `beginJob` writes its row (state `preparing`) and nothing else, then its manifest
/// is read into images and tasks a batch at a time (`prepareBatch`), each batch a short transaction of its own, so
/// a manifest of millions of lines never holds the write lock for long. `createJob` does both in one transaction,
/// for manifests small enough (tests, the benchmark).
extension Store {
    /// Inserts the job, its images (in manifest order) and its tasks (consecutive shards of `options.shardSize`
    /// images) in one transaction.
    ///
    /// With an `idempotencyKey` that was used before: the same request returns the existing job with
    /// `created == false`; a different request under that key is a `conflict`.
    /// The tasks become claimable once `setEmbeddings` is called.
    /// `refuse` says why an image's URI cannot be fetched by this fleet (nil when it can); such a line is rejected
    /// alone, like a malformed one.
    public func createJob(_ new: NewJob, refuse: @escaping (String) -> String? = { _ in nil }) throws(StoreError) -> (job: JobRecord, created: Bool) {
        try Self.validateHeader(new)
        return try createJob(new, digest: Self.requestDigest(new, items: new.items), items: new.items, refuse: refuse)
    }

    /// The same, with the images read from a manifest file as they are inserted (`new.items` is ignored), so
    /// memory does not grow with the manifest. Its digest is the file's bytes (`manifestDigest`).
    public func createJob(_ new: NewJob, manifestFile path: String, refuse: @escaping (String) -> String? = { _ in nil }) throws(StoreError)
        -> (job: JobRecord, created: Bool)
    {
        try Self.validateHeader(new)
        guard FileManager.default.isReadableFile(atPath: path) else { throw .notFound("no manifest at \(path)") }
        return try createJob(new, digest: try Self.manifestDigest(new, file: path), items: ManifestFile(path: path), refuse: refuse)
    }

    private func createJob(_ new: NewJob, digest: String, items: some Sequence<ManifestItem>, refuse: @escaping (String) -> String?) throws(StoreError)
        -> (job: JobRecord, created: Bool)
    {
        try write("creating job") { db in
            if let existing = try existingJob(db, new, digest: digest) { return (existing, false) }
            let jobId = try insertJob(db, new, digest: digest, manifest: nil)
            guard let job = try job(db, jobId) else { throw StoreError(.io, "job \(jobId) vanished while being created") }
            var inserter = try ImageInserter(db: db, store: self, job: job, at: timestamp())
            for item in items { try inserter.insert(Self.checked(item, refuse)) }
            try inserter.save(bytes: 0, lines: 0)
            if inserter.accepted == 0 { throw StoreError.invalid(inserter.noUsableImages) }
            try finishPreparation(db, jobId, inserter)
            guard let created = try self.job(db, jobId) else { throw StoreError(.io, "job \(jobId) vanished while being created") }
            return (created, true)
        }
    }

    /// Creates the job in state `preparing`, to be read from its manifest by `prepareBatch`. `take` moves the
    /// manifest into the data directory under the new job's id and returns its path there; it runs inside the
    /// transaction, after the idempotency check, so of several requests with one key exactly one takes the
    /// manifest and the others get the job it made (never an error while it is being prepared).
    public func beginJob(_ new: NewJob, digest: String, manifestBytes: Int64, take: (_ jobId: String) throws -> String) throws(StoreError)
        -> (job: JobRecord, created: Bool)
    {
        try Self.validateHeader(new)
        return try write("creating job") { db in
            if let existing = try existingJob(db, new, digest: digest) { return (existing, false) }
            let jobId = Self.newJobId(now())
            let path = try take(jobId)
            _ = try insertJob(db, new, digest: digest, manifest: (path, manifestBytes), id: jobId)
            guard let job = try job(db, jobId) else { throw StoreError(.io, "job \(jobId) vanished while being created") }
            return (job, true)
        }
    }

    /// `item`, rejected with `refuse`'s reason when its URI cannot be fetched by this fleet.
    static func checked(_ item: ManifestItem, _ refuse: (String) -> String?) -> ManifestItem {
        guard item.rejection == nil, let problem = refuse(item.uri) else { return item }
        var rejected = item
        rejected.rejection = "manifest line \(item.line): \(MessageText.clipped(problem, to: 500))"
        return rejected
    }

    /// The job an idempotency key already made, or nil; a key used for a different request is a `conflict`.
    private func existingJob(_ db: Database, _ new: NewJob, digest: String) throws -> JobRecord? {
        guard let key = new.idempotencyKey, let row = try db.one("SELECT * FROM jobs WHERE idempotency_key = ?", [key]) else { return nil }
        guard row["request_sha256"] as String == digest else {
            throw StoreError.conflict("idempotency key \(key.debugDescription) was used for a different job (\(row["id"] as String))")
        }
        return try JobRecord(row: row)
    }

    /// The job's row, state `preparing`, no images yet, and its `job.created` event; returns its id.
    private func insertJob(_ db: Database, _ new: NewJob, digest: String, manifest: (path: String, bytes: Int64)?, id: String? = nil) throws -> String {
        let modelId = try Self.resolveModel(db, new.modelId)
        let date = now()
        let at = date.timeIntervalSince1970
        let jobId = id ?? Self.newJobId(date)
        try db.run("""
            INSERT INTO jobs (id, name, model_id, classes, options, max_attempts, lease_seconds, state, idempotency_key,
                              request_sha256, image_count, task_count, created_at, manifest_path, manifest_bytes)
            VALUES (?, ?, ?, ?, ?, ?, ?, 'preparing', ?, ?, 0, 0, ?, ?, ?)
            """, [jobId, new.name, modelId, Self.json(new.classes), Self.json(new.options), new.options.maxAttempts,
                  new.options.leaseSeconds, new.idempotencyKey, digest, at, manifest?.path, manifest?.bytes ?? 0])
        try db.run("INSERT INTO job_image_counts (job_id, unfinished, done, failed) VALUES (?, 0, 0, 0)", [jobId])
        try appendEvent(db, at: at, kind: .jobCreated, job: jobId,
                        reason: manifest.map { "preparing: a manifest of \($0.bytes) bytes" })
        return jobId
    }

    /// Records the job's class embeddings (computed by the coordinator) and makes its queued tasks claimable.
    /// Setting the same digest again is a no-op; a different one once set is a `conflict`.
    public func setEmbeddings(jobId: String, sha256: String) throws(StoreError) {
        try write("setting embeddings of job \(jobId)") { db in
            var opening = try setEmbeddings(db, jobId: jobId, sha256: sha256)
            while let after = opening.after { opening = try openTasks(db, jobId: jobId, after: after) }
        }
    }

    /// How many of a job's tasks were made claimable by one step, and the last of them when more may follow.
    public struct TaskOpening: Sendable, Equatable {
        public var opened: Int
        /// The id to go on after (`openTasks`), or nil when every task of the job is open.
        public var after: Int64?
    }

    /// Records the embeddings and opens the first `limit` tasks waiting for them; the rest are opened by
    /// `openTasks`, a transaction of `limit` at a time, so that a job of a million tasks does not hold the write
    /// lock for seconds. Tasks made later (by a preparing job) are claimable when they are made.
    public func setEmbeddings(_ db: Database, jobId: String, sha256: String, limit: Int = 5000) throws -> TaskOpening {
        guard SHA256Hex.isValid(sha256) else { throw StoreError.invalid("embeddings sha256 must be 64 lowercase hex digits") }
        let at = timestamp()
        guard let row = try db.one("SELECT state, embeddings_sha256 FROM jobs WHERE id = ?", [jobId]) else {
            throw StoreError.notFound("job \(jobId) does not exist")
        }
        if let existing = row["embeddings_sha256"] as String? {
            if existing == sha256 { return TaskOpening(opened: 0, after: nil) }
            throw StoreError.conflict("job \(jobId) already has embeddings \(existing)")
        }
        guard JobState(rawValue: row["state"])?.isActive == true else {
            throw StoreError.conflict("job \(jobId) is \(row["state"] as String)")
        }
        try db.run("UPDATE jobs SET embeddings_sha256 = ? WHERE id = ? AND embeddings_sha256 IS NULL", [sha256, jobId])
        try appendEvent(db, at: at, kind: .jobEmbeddings, job: jobId, reason: sha256)
        return try openTasks(db, jobId: jobId, after: 0, limit: limit)
    }

    /// Opens up to `limit` more of the job's queued tasks that wait for embeddings, after task id `after`.
    public func openTasks(_ db: Database, jobId: String, after: Int64, limit: Int = 5000) throws -> TaskOpening {
        let at = timestamp()
        let opened = try Int64.fetchAll(db.cachedStatement(sql: """
            UPDATE tasks SET available_at = ?, updated_at = ?
            WHERE id IN (SELECT id FROM tasks INDEXED BY tasks_by_job
                         WHERE job_id = ? AND id > ? AND state = \(TaskState.queued.sql) AND available_at IS NULL ORDER BY id LIMIT ?)
            RETURNING id
            """), arguments: [at, at, jobId, after, limit])
        return TaskOpening(opened: opened.count, after: opened.count < limit ? nil : opened.max())
    }

    public func job(_ id: String) throws(StoreError) -> JobRecord? {
        try read("reading job \(id)") { db in try job(db, id) }
    }

    public func job(_ db: Database, idempotencyKey key: String) throws -> JobRecord? {
        try db.one("SELECT * FROM jobs WHERE idempotency_key = ?", [key]).map { try JobRecord(row: $0) }
    }

    public func job(_ db: Database, _ id: String) throws -> JobRecord? {
        try JobRecord.fetchOne(db.cachedStatement(sql: "SELECT * FROM jobs WHERE id = ?"), arguments: [id])
    }

    /// The newest jobs first.
    public func jobs(limit: Int = 100) throws(StoreError) -> [JobRecord] {
        try read("listing jobs") { db in try jobs(db, limit: limit) }
    }

    public func jobs(_ db: Database, limit: Int = 100) throws -> [JobRecord] {
        try JobRecord.fetchAll(db.cachedStatement(sql: """
            SELECT * FROM jobs ORDER BY created_at DESC, id DESC LIMIT ?
            """), arguments: [max(0, limit)])
    }

    /// Inserts a queued task and returns its id.
    /// A task's row; with `lines`, one that names lines of the job's manifest (its images get rows when it is first
    /// leased).
    func insertTask(_ db: Database, job: String, imageCount: Int, availableAt: Double?, at: Double, lines: ManifestLines? = nil) throws -> Int64 {
        try db.run("""
            INSERT INTO tasks (job_id, available_at, image_count, created_at, updated_at, manifest_offset, manifest_line,
                               manifest_end, manifest_last_line)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [job, availableAt, imageCount, at, at, lines?.offset, lines?.line, lines?.end, lines?.lastLine])
        return db.lastInsertedRowID
    }
}
