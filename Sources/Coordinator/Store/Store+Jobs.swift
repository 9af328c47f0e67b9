import Foundation
import GRDB

/// Creating and reading jobs.
extension Store {
    /// Inserts the job, its images (in manifest order) and its tasks (consecutive shards of `options.shardSize`
    /// images) and a `job.created` event, in one transaction.
    ///
    /// With an `idempotencyKey` that was used before: the same request returns the existing job with
    /// `created == false`; a different request under that key is a `conflict`.
    /// The tasks become claimable once `setEmbeddings` is called.
    public func createJob(_ new: NewJob) throws(StoreError) -> (job: JobRecord, created: Bool) {
        try Self.validate(new)
        let digest = Self.requestDigest(new)
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
            let shard = new.options.shardSize
            let accepted = new.items.count { $0.rejection == nil }
            let taskCount = (accepted + shard - 1) / shard
            try db.run("""
                INSERT INTO jobs (id, name, model_id, classes, options, max_attempts, lease_seconds, idempotency_key,
                                  request_sha256, image_count, task_count, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, [jobId, new.name, modelId, Self.json(new.classes), Self.json(new.options), new.options.maxAttempts,
                      new.options.leaseSeconds, new.idempotencyKey, digest, new.items.count, taskCount, at])
            // Tasks hold the accepted images, `shard` at a time; a rejected image is failed from the start and
            // hangs on the first task (images need one), which never touches it.
            var taskIds: [Int64] = []
            for start in stride(from: 0, to: accepted, by: shard) {
                taskIds.append(try insertTask(db, job: jobId, imageCount: min(shard, accepted - start), availableAt: nil, at: at))
            }
            var acceptedSoFar = 0
            for (seq, item) in new.items.enumerated() {
                if let rejection = item.rejection {
                    try db.run("""
                        INSERT INTO images (job_id, seq, id, uri, line, task_id, state, finished, error, updated_at)
                        VALUES (?, ?, ?, ?, ?, ?, 'failed', 1, ?, ?)
                        """, [jobId, seq, item.id, item.uri, item.line, taskIds[0], rejection, at])
                    try appendEvent(db, at: at, kind: .imageFailed, job: jobId, image: item.id, reason: rejection)
                } else {
                    try db.run("""
                        INSERT INTO images (job_id, seq, id, uri, line, task_id, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                        """, [jobId, seq, item.id, item.uri, item.line, taskIds[acceptedSoFar / shard], at])
                    acceptedSoFar += 1
                }
            }
            try appendEvent(db, at: at, kind: .jobCreated, job: jobId,
                            reason: "\(new.items.count) images in \(taskCount) tasks" + (accepted < new.items.count ? ", \(new.items.count - accepted) rejected" : ""))
            guard let row = try db.one("SELECT * FROM jobs WHERE id = ?", [jobId]) else {
                throw StoreError(.io, "job \(jobId) vanished while being created")
            }
            return (try JobRecord(row: row), true)
        }
    }

    /// Records the job's class embeddings (computed by the coordinator) and makes its queued tasks claimable.
    /// Setting the same digest again is a no-op; a different one once set is a `conflict`.
    public func setEmbeddings(jobId: String, sha256: String) throws(StoreError) {
        guard SHA256Hex.isValid(sha256) else { throw .invalid("embeddings sha256 must be 64 lowercase hex digits") }
        let at = timestamp()
        try write("setting embeddings of job \(jobId)") { db in
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
    }

    public func job(_ id: String) throws(StoreError) -> JobRecord? {
        try read("reading job \(id)") { db in
            try JobRecord.fetchOne(db.cachedStatement(sql: "SELECT * FROM jobs WHERE id = ?"), arguments: [id])
        }
    }

    /// The newest jobs first.
    public func jobs(limit: Int = 100) throws(StoreError) -> [JobRecord] {
        try read("listing jobs") { db in
            try JobRecord.fetchAll(db.cachedStatement(sql: """
                SELECT * FROM jobs ORDER BY created_at DESC, id DESC LIMIT ?
                """), arguments: [max(0, limit)])
        }
    }

    /// Inserts a queued task and returns its id.
    func insertTask(_ db: Database, job: String, imageCount: Int, availableAt: Double?, at: Double) throws -> Int64 {
        try db.run("""
            INSERT INTO tasks (job_id, available_at, image_count, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
            """, [job, availableAt, imageCount, at, at])
        return db.lastInsertedRowID
    }
}
