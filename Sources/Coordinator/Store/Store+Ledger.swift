import Foundation
import GRDB
import LabelAPI

/// The ledger: every state change of a job, task or image appends one event, in the same transaction as the change.
extension Store {
    /// A job's events after `after` (a `seq`), oldest first; `notFound` for an unknown job.
    public func events(jobId: String, after: Int64 = 0, limit: Int = 1000) throws(StoreError) -> [LedgerEvent] {
        try read("reading events of job \(jobId)") { db in try events(db, jobId: jobId, after: after, limit: limit) }
    }

    public func events(_ db: Database, jobId: String, after: Int64 = 0, limit: Int = 1000) throws -> [LedgerEvent] {
        let events = try LedgerEvent.fetchAll(db.cachedStatement(sql: """
            SELECT * FROM events WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?
            """), arguments: [jobId, after, max(0, limit)])
        if events.isEmpty, try db.value(String.self, "SELECT id FROM jobs WHERE id = ?", [jobId]) == nil {
            throw StoreError.notFound("job \(jobId) does not exist")
        }
        return events
    }

    static let appendEventSQL = """
        INSERT INTO events (at, job_id, task_id, image_id, worker_id, kind, reason) VALUES (?, ?, ?, ?, ?, ?, ?)
        """

    /// Appends one event.
    func appendEvent(
        _ db: Database, at: Double, kind: EventKind, job: String, task: Int64? = nil, image: String? = nil,
        worker: String? = nil, reason: String? = nil
    ) throws {
        try db.run(Self.appendEventSQL, [at, job, task, image, worker, kind.rawValue, reason])
    }

    /// A task event followed by one event per image of the task in a given state, in one statement. The image state
    /// is written into the SQL, never bound: a bound value compared with the partial indexes' `state = '...'` terms
    /// would make SQLite re-prepare the statement on every bind.
    static let appendTaskAndImageEventsSQL: [ImageState: String] = Dictionary(uniqueKeysWithValues: ImageState.allCases.map {
        ($0, """
            INSERT INTO events (at, job_id, task_id, image_id, worker_id, kind, reason)
            SELECT :at, :job, :task, NULL, :worker, :taskKind, :taskReason
            UNION ALL
            SELECT :at, job_id, task_id, id, :worker, :imageKind, :imageReason FROM images
            WHERE task_id = :task AND state = \($0.sql)
            """)
    })

    /// Appends `kind` for the task, then `imageKind` for each of its images in state `images` (call it before the
    /// UPDATE that moves them). Returns how many image events were appended.
    @discardableResult
    func appendTaskEvents(
        _ db: Database, at: Double, kind: EventKind, job: String, task: Int64, worker: String?, reason: String?,
        images: ImageState, imageKind: EventKind, imageReason: String?
    ) throws -> Int {
        try db.run(Self.appendTaskAndImageEventsSQL[images]!, [
            "at": at, "job": job, "task": task, "worker": worker, "taskKind": kind.rawValue, "taskReason": reason,
            "imageKind": imageKind.rawValue, "imageReason": imageReason,
        ])
        return db.changesCount - 1
    }
}
