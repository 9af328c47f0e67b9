import Foundation
import GRDB
import LabelAPI

/// Reading a preparing job's manifest into images and tasks, one short transaction a batch (see `beginJob`).
extension Store {
    /// What became of a preparing job after a batch.
    public enum PreparationOutcome: Sendable, Equatable {
        /// More of the manifest is to be read.
        case more
        /// The manifest is read: the job is queued, or running when a task was leased meanwhile, or failed when
        /// no line of it was usable. `claimable` is about how many of its tasks may wait for a worker now.
        case prepared(JobState, claimable: Int)
        /// The job is no longer preparing (cancelled, failed or deleted meanwhile): nothing was written.
        case stopped
    }

    /// Reads up to `lines` more items of a preparing job's manifest (from where it stopped, also after a restart)
    /// and takes them in one transaction (`ImageInserter`): the reading happens before the write lock is taken. A
    /// line refused by `refuse` fails alone, as at `createJob`. At the end, a job with no usable image fails with
    /// its first rejection.
    public func prepareBatch(_ jobId: String, lines: Int, refuse: @escaping (String) -> String? = { _ in nil }) throws(StoreError)
        -> PreparationOutcome
    {
        guard let cursor = try cursor(jobId) else { return .stopped }
        let (from, fromLine) = (cursor.offset, cursor.line)
        var entries: [ManifestEntry] = []
        entries.reserveCapacity(lines)
        while entries.count < lines, let entry = cursor.next() { entries.append(entry) }
        let atEnd = entries.count < lines
        do {
            let outcome = try write("preparing job \(jobId)") { db -> PreparationOutcome in
                guard let job = try job(db, jobId), job.state == .preparing else { return .stopped }
                guard (job.preparedBytes, job.preparedLines) == (from, fromLine) else {
                    throw StoreError(.io, "job \(jobId) was read to byte \(job.preparedBytes), not \(from), meanwhile")
                }
                let at = timestamp()
                var inserter = try ImageInserter(db: db, store: self, job: job, at: at, cursor: cursor)
                for var entry in entries {
                    entry.item = Self.checked(entry.item, refuse)
                    try inserter.insert(entry)
                }
                try inserter.save(bytes: cursor.offset, lines: cursor.line)
                guard atEnd else { return .more }
                if inserter.accepted == 0 {
                    try failJob(db, jobId, reason: Self.storedReason(inserter.noUsableImages), at: at)
                    return .prepared(.failed, claimable: 0)
                }
                let state = try finishPreparation(db, jobId, inserter)
                return .prepared(state, claimable: job.embeddingsSHA256 == nil ? 0 : inserter.tasks)
            }
            if outcome != .more { cursors.remove(jobId) }
            return outcome
        } catch {
            cursors.remove(jobId)  // its ids may hold lines that were not committed: read them again next time
            throw error
        }
    }

    /// The open cursor of a preparing job, or a new one where the job stopped; nil when it is not preparing.
    private func cursor(_ jobId: String) throws(StoreError) -> ManifestCursor? {
        if let cursor = cursors[jobId] { return cursor }
        let found = try read("opening the manifest of job \(jobId)") { db -> (JobRecord, Bool, [Int: String])? in
            guard let job = try job(db, jobId), job.state == .preparing, job.manifestPath != nil else { return nil }
            let namesLines = try job.preparedBytes == 0 || (db.value(Bool.self, """
                SELECT EXISTS (SELECT 1 FROM tasks INDEXED BY tasks_by_job WHERE job_id = ? AND manifest_line IS NOT NULL)
                """, [jobId]) ?? false)
            var refused: [Int: String] = [:]
            for row in try db.all("SELECT line, id FROM images WHERE job_id = ? AND rejected = 1", [jobId]) {
                refused[row["line"]] = row["id"]
            }
            return (job, namesLines, refused)
        }
        guard let (job, namesLines, refused) = found, let relative = job.manifestPath else { return nil }
        let cursor = try ManifestCursor(path: manifestPath(relative), offset: job.preparedBytes, line: job.preparedLines,
                                        namesLines: namesLines, refused: refused)
        cursors[jobId] = cursor
        return cursor
    }

    /// A job's manifest path as stored, resolved against the database's folder.
    func manifestPath(_ stored: String) -> String {
        stored.hasPrefix("/") ? stored : directory.appendingPathComponent(stored).path
    }

    /// The manifest is read: the job moves on to `queued`, or to `running` when one of its tasks was leased while it
    /// was prepared (then to `done` at once if every image is finished), with a `job.prepared` event.
    @discardableResult
    func finishPreparation(_ db: Database, _ jobId: String, _ inserter: ImageInserter) throws -> JobState {
        let at = timestamp()
        try db.run("""
            UPDATE jobs SET state = \(JobState.queued.sql)
            WHERE id = ? AND started_at IS NULL AND \(JobState.sqlWhere(.preparing, to: .queued))
            """, [jobId])
        try db.run("""
            UPDATE jobs SET state = \(JobState.running.sql)
            WHERE id = ? AND started_at IS NOT NULL AND \(JobState.sqlWhere(.preparing, to: .running))
            """, [jobId])
        if inserter.tarShards {
            try appendEvent(db, at: at, kind: .jobPrepared, job: jobId,
                            reason: "\(inserter.accepted) shards" + (inserter.rejected > 0 ? ", \(inserter.rejected) rejected" : ""))
        } else {
            try appendEvent(db, at: at, kind: .jobPrepared, job: jobId,
                            reason: "\(inserter.count) images in \(inserter.tasks) tasks"
                                + (inserter.rejected > 0 ? ", \(inserter.rejected) rejected" : ""))
        }
        try finishJobIfComplete(db, jobId, at: at)
        return try jobState(db, jobId)
    }

    /// The manifest files the jobs read, as stored (a manifest stays while its job does: tasks name its lines).
    public func manifestPaths() throws(StoreError) -> Set<String> {
        try read("listing manifests") { db in
            Set(try String.fetchAll(db, sql: "SELECT manifest_path FROM jobs WHERE manifest_path IS NOT NULL"))
        }
    }

    /// The jobs whose manifests are still to be read (after a restart), oldest first.
    public func preparingJobs() throws(StoreError) -> [JobRecord] {
        try read("listing preparing jobs") { db in
            try JobRecord.fetchAll(db, sql: "SELECT * FROM jobs WHERE state = \(JobState.preparing.sql) ORDER BY created_at, id")
        }
    }
}

/// The cursors of the manifests being read, by job id (`Store.prepareBatch` adds and removes them).
package final class ManifestCursors: @unchecked Sendable {
    // @unchecked: `cursors` is touched only under `lock`; a cursor is used by one preparation at a time.
    private let lock = NSLock()
    private var cursors: [String: ManifestCursor] = [:]

    subscript(jobId: String) -> ManifestCursor? {
        get { lock.withLock { cursors[jobId] } }
        set { lock.withLock { cursors[jobId] = newValue } }
    }

    package func remove(_ jobId: String) { self[jobId] = nil }
}
