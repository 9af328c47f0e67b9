import Foundation
import GRDB
import LabelAPI

/// WebDataset jobs (`JobSettings.tarShards`): a task is a shard, and its samples are known only once a worker has
/// read it. The worker declares them (`declareSamples`); from then on they are images like any other (labels,
/// failures, retries), with `seq` = the shard's line << 24 | the sample's place, `uri` = the shard's URI + `#` + key.
extension Store {
    /// At most this many samples in one shard (the low bits of `seq`).
    public static let maxSamplesPerShard = 1 << 24 - 1

    /// What became of a declaration.
    public struct DeclaredSamples: Sendable, Equatable {
        /// The ids this lease is to label: running, in shard order.
        public var todo: [String]
        /// Samples that could not be taken, with why (an id another shard's sample has).
        public var refused: [SampleRefusal]
        /// A job with an output: the samples an earlier lease failed, with why.
        public var failed: [SampleRefusal] = []
    }

    /// Records the samples a worker found in the leased shard. New ones get rows, running (this lease is their
    /// first attempt); samples an earlier lease declared keep their state: failed ones are not labeled again, nor
    /// are done ones, except in a job with an output: its worker writes the whole output shard, so it labels the
    /// done samples again and is told the failed ones' reasons. Fenced.
    public func declareSamples(_ db: Database, taskId: Int64, token: String, samples: [ShardSample]) throws -> DeclaredSamples {
        let at = timestamp()
        let lease = try fenced(db, taskId: taskId, token: token, at: at)
        guard let task = try db.one("SELECT shard, manifest_last_line FROM tasks WHERE id = ?", [taskId]),
              let shard = task["shard"] as String?, let line = task["manifest_last_line"] as Int? else {
            throw StoreError.invalid("task \(taskId) is not a shard: it takes no samples")
        }
        guard samples.count <= Self.maxSamplesPerShard else {
            throw StoreError.invalid("a shard may have at most \(Self.maxSamplesPerShard) samples, not \(samples.count)")
        }
        let insert = try db.cachedStatement(sql: """
            INSERT INTO images (job_id, seq, id, uri, line, task_id, state, attempts, finished, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, 'running', 1, 0, ?) ON CONFLICT DO NOTHING
            """)
        let wholeShard = try db.value(Bool.self, "SELECT json_extract(options, '$.output') IS NOT NULL FROM jobs WHERE id = ?",
                                      [lease.jobId]) ?? false
        var todo: [String] = [], refused: [SampleRefusal] = [], failed: [SampleRefusal] = []
        var added = 0
        for (index, sample) in samples.enumerated() {
            if let problem = ImageID.problem(sample.id) {
                refused.append(SampleRefusal(key: sample.key, reason: "id \(MessageText.clipped(sample.id).debugDescription) \(problem)"))
                continue
            }
            try insert.execute(arguments: [lease.jobId, line << 24 | index, sample.id, shard + "#" + sample.key, line, taskId, at])
            if db.changesCount == 1 {
                added += 1
                todo.append(sample.id)
                continue
            }
            // Declared before by this shard (an earlier lease, or a retry's), or another sample's id.
            let row = try db.one("SELECT task_id, state, uri, error FROM images WHERE job_id = ? AND id = ?", [lease.jobId, sample.id])
            guard let row, row["task_id"] as Int64 == taskId || (row["uri"] as String) == shard + "#" + sample.key else {
                refused.append(SampleRefusal(key: sample.key, reason: "its id \(sample.id) is taken by \(row?["uri"] as String? ?? "another sample")"))
                continue
            }
            switch row["state"] as String {
            case ImageState.running.rawValue: todo.append(sample.id)
            case ImageState.done.rawValue where wholeShard: todo.append(sample.id)
            case ImageState.failed.rawValue where wholeShard: failed.append(SampleRefusal(key: sample.key, reason: row["error"] ?? "failed"))
            default: break
            }
        }
        if added > 0 {
            try db.run("UPDATE tasks SET image_count = image_count + ? WHERE id = ?", [added, taskId])
            try db.run("UPDATE jobs SET image_count = image_count + ? WHERE id = ?", [added, lease.jobId])
            try db.run("UPDATE job_image_counts SET unfinished = unfinished + ? WHERE job_id = ?", [added, lease.jobId])
        }
        try appendEvent(db, at: at, kind: .taskSamples, job: lease.jobId, task: taskId, worker: lease.worker,
                        reason: "\(samples.count) samples, \(added) new, \(todo.count) to label"
                            + (refused.isEmpty ? "" : ", \(refused.count) refused"))
        return DeclaredSamples(todo: todo, refused: refused, failed: failed)
    }

    /// The job of a task that reads a shard (it has one once leased); nil for any other task. One lookup by key:
    /// every completion asks.
    public func shardTaskJob(_ db: Database, _ taskId: Int64) throws -> String? {
        try db.value(String.self, "SELECT job_id FROM tasks WHERE id = ? AND shard IS NOT NULL", [taskId])
    }

    /// One sample of a shard's output: its key, and its label file or why it failed.
    public struct ShardResult: Sendable {
        public var id: String
        public var key: String
        /// The label file, relative to the data directory, when the sample is done.
        public var label: String?
        /// Why it failed, when it did.
        public var error: String?
    }

    /// The shard a task reads and what its output shard holds now: every sample of that shard that is done (its
    /// label file, relative to the data directory) or failed (its reason), in shard order; retries of the shard
    /// included. Nil for a task that is not a shard.
    public func shardResults(_ db: Database, taskId: Int64) throws -> (jobId: String, shard: String, results: [ShardResult])? {
        guard let task = try db.one("SELECT job_id, shard, manifest_last_line FROM tasks WHERE id = ?", [taskId]),
              let shard = task["shard"] as String?, let line = task["manifest_last_line"] as Int64? else { return nil }
        // Read just before the task completes: its samples still running are those its completion fails.
        let rows = try db.all("""
            SELECT i.id, i.uri, i.state, i.error, l.relative_path FROM images AS i
            LEFT JOIN labels AS l ON l.job_id = i.job_id AND l.image_id = i.id
            WHERE i.job_id = ? AND i.seq BETWEEN ? AND ? AND (\(ImageState.sqlIn(.done, .failed, column: "i.state")) OR i.task_id = ?)
            ORDER BY i.seq
            """, [task["job_id"] as String, line << 24, line << 24 | Int64(Self.maxSamplesPerShard), taskId])
        let results = rows.map { row in
            let uri: String = row["uri"]
            let state = row["state"] as String
            return ShardResult(id: row["id"], key: String(uri.dropFirst(shard.count + 1)),
                               label: state == ImageState.done.rawValue ? row["relative_path"] : nil,
                               error: state == ImageState.done.rawValue ? nil
                                   : state == ImageState.failed.rawValue ? (row["error"] as String? ?? "failed") : Self.noResult)
        }
        return (task["job_id"], shard, results)
    }
}
