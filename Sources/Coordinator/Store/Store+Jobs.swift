import Foundation
import GRDB
import Support
import LabelAPI

/// Creating and reading jobs.
extension Store {
    /// Inserts the job, its images (in manifest order) and its tasks (consecutive shards of `options.shardSize`
    /// images) and a `job.created` event, in one transaction.
    ///
    /// With an `idempotencyKey` that was used before: the same request returns the existing job with
    /// `created == false`; a different request under that key is a `conflict`.
    /// The tasks become claimable once `setEmbeddings` is called.
    /// `refuse` says why an image's URI cannot be fetched by this fleet (nil when it can); such a line is rejected
    /// alone, like a malformed one.
    public func createJob(_ new: NewJob, refuse: @escaping (String) -> String? = { _ in nil }) throws(StoreError) -> (job: JobRecord, created: Bool) {
        try createJob(new, items: new.items.lazy.map { Self.checked($0, refuse) })
    }

    /// The same, with the images read from a manifest file as they are inserted (`new.items` is ignored), so
    /// memory does not grow with the manifest. The file is read twice: for the request's digest, then to insert.
    public func createJob(_ new: NewJob, manifestFile path: String, refuse: @escaping (String) -> String? = { _ in nil }) throws(StoreError)
        -> (job: JobRecord, created: Bool)
    {
        guard FileManager.default.isReadableFile(atPath: path) else { throw .notFound("no manifest at \(path)") }
        return try createJob(new, items: ManifestFile(path: path).lazy.map { Self.checked($0, refuse) })
    }

    private static func checked(_ item: ManifestItem, _ refuse: (String) -> String?) -> ManifestItem {
        guard item.rejection == nil, let problem = refuse(item.uri) else { return item }
        var rejected = item
        rejected.rejection = "manifest line \(item.line): \(MessageText.clipped(problem, to: 500))"
        return rejected
    }

    private func createJob(_ new: NewJob, items: some Sequence<ManifestItem>) throws(StoreError) -> (job: JobRecord, created: Bool) {
        try Self.validateHeader(new)
        let digest = Self.requestDigest(new, items: items)
        let date = now()
        let at = date.timeIntervalSince1970
        return try write("creating job") { db in
            if let key = new.idempotencyKey,
               let row = try db.one("SELECT * FROM jobs WHERE idempotency_key = ?", [key]) {
                guard row["request_sha256"] as String == digest else {
                    throw StoreError.conflict("idempotency key \(key.debugDescription) was used for a different job (\(row["id"] as String))")
                }
                return (try JobRecord(row: row), false)
            }
            let modelId = try Self.resolveModel(db, new.modelId)
            let jobId = Self.newJobId(date)
            try db.run("""
                INSERT INTO jobs (id, name, model_id, classes, options, max_attempts, lease_seconds, idempotency_key,
                                  request_sha256, image_count, task_count, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?)
                """, [jobId, new.name, modelId, Self.json(new.classes), Self.json(new.options), new.options.maxAttempts,
                      new.options.leaseSeconds, new.idempotencyKey, digest, at])
            var inserter = ImageInserter(db: db, store: self, jobId: jobId, shard: new.options.shardSize, at: at)
            for item in items { try inserter.insert(item) }
            try inserter.finish()
            try appendEvent(db, at: at, kind: .jobCreated, job: jobId,
                            reason: "\(inserter.count) images in \(inserter.tasks) tasks"
                                + (inserter.rejected > 0 ? ", \(inserter.rejected) rejected" : ""))
            guard let row = try db.one("SELECT * FROM jobs WHERE id = ?", [jobId]) else {
                throw StoreError(.io, "job \(jobId) vanished while being created")
            }
            return (try JobRecord(row: row), true)
        }
    }

    /// Inserts a new job's images in manifest order, one at a time. Accepted images fill tasks of `shard`; a
    /// rejected one is failed from the start and hangs on the first task (images need one), which never touches
    /// it. A repeated id is caught by the unique index and rejected as a duplicate.
    private struct ImageInserter {
        let db: Database
        let store: Store
        let jobId: String
        let shard: Int
        let at: Double
        var count = 0, accepted = 0, rejected = 0, tasks = 0
        /// Why the first rejected line was, for a job that has nothing else.
        private var firstRejection: String?
        private var firstTask: Int64?
        private var currentTask: Int64?
        private var inCurrentTask = 0

        init(db: Database, store: Store, jobId: String, shard: Int, at: Double) {
            (self.db, self.store, self.jobId, self.shard, self.at) = (db, store, jobId, shard, at)
        }

        mutating func insert(_ original: ManifestItem) throws {
            var item = original
            if item.rejection == nil {
                if let problem = ImageID.problem(item.id) {
                    throw StoreError.invalid("manifest line \(item.line): id \(MessageText.clipped(item.id).debugDescription) \(problem)")
                }
                if item.uri.isEmpty { throw StoreError.invalid("manifest line \(item.line): uri is empty") }
                if currentTask == nil || inCurrentTask == shard { try openTask() }
                if try add(item, task: currentTask!, state: .pending, error: nil) {
                    accepted += 1
                    inCurrentTask += 1
                    return
                }
                guard let first = try db.value(Int.self, "SELECT line FROM images WHERE job_id = ? AND id = ?", [jobId, item.id]) else {
                    throw StoreError(.io, "image \(item.id) of line \(item.line) was refused and is not there")
                }
                item.reject(duplicateOf: first)
            }
            if firstTask == nil { try openTask() }
            while try !add(item, task: firstTask!, state: .failed, error: item.rejection) {
                item.id += "#"  // a rejected line's own id that another rejected line already has
            }
            rejected += 1
            firstRejection = firstRejection ?? item.rejection
            try store.appendEvent(db, at: at, kind: .imageFailed, job: jobId, image: item.id, reason: item.rejection)
        }

        /// Inserts one image row, pending or (a rejected line) failed; false when its id is taken.
        private mutating func add(_ item: ManifestItem, task: Int64, state: ImageState, error: String?) throws -> Bool {
            let rejected = state == .failed
            try db.run("""
                INSERT INTO images (job_id, seq, id, uri, line, task_id, state, finished, error, updated_at, rejected)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (job_id, id) DO NOTHING
                """, [jobId, count, item.id, item.uri, item.line, task, state.rawValue, rejected, error, at, rejected])
            guard db.changesCount == 1 else { return false }
            count += 1
            return true
        }

        private mutating func openTask() throws {
            try closeTask()
            currentTask = try store.insertTask(db, job: jobId, imageCount: 0, availableAt: nil, at: at)
            firstTask = firstTask ?? currentTask
            inCurrentTask = 0
            tasks += 1
        }

        private func closeTask() throws {
            if let currentTask { try db.run("UPDATE tasks SET image_count = ? WHERE id = ?", [inCurrentTask, currentTask]) }
        }

        /// Refuses a job without one usable image; records the counts.
        mutating func finish() throws {
            if count == 0 { throw StoreError.invalid("the job has no images") }
            if accepted == 0 {
                throw StoreError.invalid("the job has no usable images" + (firstRejection.map { " (the first: \($0))" } ?? ""))
            }
            try closeTask()
            try db.run("UPDATE jobs SET image_count = ?, task_count = ? WHERE id = ?", [count, tasks, jobId])
            // Accepted images are pending (unfinished), rejected lines failed; the trigger on images keeps it from here.
            try db.run("INSERT INTO job_image_counts (job_id, unfinished, done, failed) VALUES (?, ?, 0, ?)", [jobId, accepted, rejected])
        }
    }

    /// Records the job's class embeddings (computed by the coordinator) and makes its queued tasks claimable.
    /// Setting the same digest again is a no-op; a different one once set is a `conflict`.
    public func setEmbeddings(jobId: String, sha256: String) throws(StoreError) {
        try write("setting embeddings of job \(jobId)") { db in try setEmbeddings(db, jobId: jobId, sha256: sha256) }
    }

    public func setEmbeddings(_ db: Database, jobId: String, sha256: String) throws {
        guard SHA256Hex.isValid(sha256) else { throw StoreError.invalid("embeddings sha256 must be 64 lowercase hex digits") }
        let at = timestamp()
        guard let row = try db.one("SELECT state, embeddings_sha256 FROM jobs WHERE id = ?", [jobId]) else {
            throw StoreError.notFound("job \(jobId) does not exist")
        }
        if let existing = row["embeddings_sha256"] as String? {
            if existing == sha256 { return }
            throw StoreError.conflict("job \(jobId) already has embeddings \(existing)")
        }
        guard JobState(rawValue: row["state"])?.isActive == true else {
            throw StoreError.conflict("job \(jobId) is \(row["state"] as String)")
        }
        try db.run("UPDATE jobs SET embeddings_sha256 = ? WHERE id = ? AND embeddings_sha256 IS NULL", [sha256, jobId])
        try db.run("""
            UPDATE tasks SET available_at = ?, updated_at = ?
            WHERE job_id = ? AND state = 'queued' AND available_at IS NULL
            """, [at, at, jobId])
        try appendEvent(db, at: at, kind: .jobEmbeddings, job: jobId, reason: sha256)
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
    func insertTask(_ db: Database, job: String, imageCount: Int, availableAt: Double?, at: Double) throws -> Int64 {
        try db.run("""
            INSERT INTO tasks (job_id, available_at, image_count, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
            """, [job, availableAt, imageCount, at, at])
        return db.lastInsertedRowID
    }
}
