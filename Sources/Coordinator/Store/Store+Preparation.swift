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

    /// Inserts the next `items` of a preparing job's manifest, which end at byte `offset` and line `line` of it
    /// (`atEnd`: the manifest ends there), in one transaction. A line refused by `refuse` fails alone, as at
    /// `createJob`. At the end, a job with no usable image fails with its first rejection.
    public func prepareBatch(_ jobId: String, items: [ManifestItem], through offset: Int64, line: Int, atEnd: Bool,
                             refuse: @escaping (String) -> String? = { _ in nil }) throws(StoreError) -> PreparationOutcome {
        try write("preparing job \(jobId)") { db in
            guard let job = try job(db, jobId), job.state == .preparing else { return .stopped }
            let at = timestamp()
            var inserter = try ImageInserter(db: db, store: self, job: job, at: at)
            for item in items { try inserter.insert(Self.checked(item, refuse)) }
            try inserter.save(bytes: offset, lines: line)
            guard atEnd else { return .more }
            if inserter.accepted == 0 {
                try failJob(db, jobId, reason: Self.storedReason(inserter.noUsableImages), at: at)
                try db.run("UPDATE jobs SET manifest_path = NULL WHERE id = ?", [jobId])
                return .prepared(.failed, claimable: 0)
            }
            let state = try finishPreparation(db, jobId, inserter)
            return .prepared(state, claimable: job.embeddingsSHA256 == nil ? 0 : inserter.tasks)
        }
    }

    /// The manifest is read: the job moves on to `queued`, or to `running` when one of its tasks was leased while it
    /// was prepared (then to `done` at once if every image is finished), with a `job.prepared` event.
    @discardableResult
    func finishPreparation(_ db: Database, _ jobId: String, _ inserter: ImageInserter) throws -> JobState {
        let at = timestamp()
        try db.run("""
            UPDATE jobs SET state = 'queued', manifest_path = NULL
            WHERE id = ? AND started_at IS NULL AND \(JobState.sqlWhere(.preparing, to: .queued))
            """, [jobId])
        try db.run("""
            UPDATE jobs SET state = 'running', manifest_path = NULL
            WHERE id = ? AND started_at IS NOT NULL AND \(JobState.sqlWhere(.preparing, to: .running))
            """, [jobId])
        try appendEvent(db, at: at, kind: .jobPrepared, job: jobId,
                        reason: "\(inserter.count) images in \(inserter.tasks) tasks"
                            + (inserter.rejected > 0 ? ", \(inserter.rejected) rejected" : ""))
        try finishJobIfComplete(db, jobId, at: at)
        return try jobState(db, jobId)
    }

    /// The jobs whose manifests are still to be read (after a restart), oldest first.
    public func preparingJobs() throws(StoreError) -> [JobRecord] {
        try read("listing preparing jobs") { db in
            try JobRecord.fetchAll(db, sql: "SELECT * FROM jobs WHERE state = 'preparing' ORDER BY created_at, id")
        }
    }
}
