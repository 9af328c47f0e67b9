import Foundation
import GRDB
import Synchronization
import LabelAPI

/// Group commit: the hot path's writes (claims, heartbeats, completions, uploads) that arrive while a commit
/// is under way wait and then share the next transaction, each in its own savepoint. A commit writes every page
/// it touched to the WAL, and consecutive claims and completions touch mostly the same pages (the tasks index,
/// the tail of the ledger), so one commit for a batch writes far less than one per request.
///
/// Nothing is answered before its batch has committed: a failed commit fails every request in the batch, and a
/// request that throws rolls back its own savepoint only.
package final class WriteBatcher: Sendable {
    /// One request: `run` executes it inside the batch's transaction and keeps its outcome; `finish` answers
    /// the caller once the transaction has ended (with the batch's error when the commit failed).
    private struct Job: Sendable {
        let run: @Sendable (Database) -> Void
        let finish: @Sendable ((any Error)?) -> Void
    }

    private struct Queue {
        var pending: [Job] = []
        var draining = false
        var batches = 0
    }

    private let pool: DatabasePool
    private let queue = Mutex(Queue())

    /// Requests waiting for the next batch.
    package var pendingCount: Int { queue.withLock { $0.pending.count } }

    /// Transactions committed or attempted so far (the tests check that concurrent requests share them).
    package var batchCount: Int { queue.withLock { $0.batches } }

    init(pool: DatabasePool) {
        self.pool = pool
    }

    /// Runs `body` in the next batch, in a savepoint of the batch's transaction: its reads see the batch's
    /// writes so far. Returns once the batch has committed.
    func submit<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, StoreError>, Never>) in
            let outcome = Mutex<Result<T, StoreError>?>(nil)
            enqueue(Job(
                run: { db in outcome.withLock { $0 = Self.savepoint(db, what, body) } },
                finish: { batchError in
                    let result = batchError.map { .failure(StoreError.wrap($0, "committing \(what)")) } ?? outcome.withLock { $0! }
                    continuation.resume(returning: result)
                }))
        }
        return try result.get()
    }

    private static func savepoint<T>(_ db: Database, _ what: String, _ body: (Database) throws -> T) -> Result<T, StoreError> {
        // SQLite rolls the whole transaction back on some errors (a full disk, I/O): then nothing more may run
        // in it, or it would commit on its own.
        guard db.isInsideTransaction else { return .failure(StoreError(.io, "\(what): the batch's transaction was rolled back")) }
        // Savepoints through cached statements: GRDB's `inSavepoint` compiles its two statements on every call, which
        // cost as much as a claim's own SQL.
        do {
            try db.cachedStatement(sql: "SAVEPOINT request").execute()
        } catch {
            return .failure(StoreError.wrap(error, what))
        }
        do {
            let result = try body(db)
            try db.cachedStatement(sql: "RELEASE SAVEPOINT request").execute()
            return .success(result)
        } catch {
            if db.isInsideTransaction {
                try? db.cachedStatement(sql: "ROLLBACK TRANSACTION TO SAVEPOINT request").execute()
                try? db.cachedStatement(sql: "RELEASE SAVEPOINT request").execute()
            }
            return .failure(StoreError.wrap(error, what))
        }
    }

    private func enqueue(_ job: Job) {
        let start = queue.withLock { queue in
            queue.pending.append(job)
            defer { queue.draining = true }
            return !queue.draining
        }
        if start { scheduleBatch() }
    }

    /// One batch per turn of the writer connection's queue: other writers (job creation, the lease sweeper)
    /// queue there too and get their turn between batches, however busy the hot path is.
    private func scheduleBatch() {
        pool.asyncWriteWithoutTransaction { [self] db in commitBatch(db) }
    }

    /// Commits whatever is pending, then schedules the next batch if more arrived meanwhile.
    private func commitBatch(_ db: Database) {
        let jobs = queue.withLock { queue in
            defer { queue.pending.removeAll(keepingCapacity: true) }
            queue.batches += 1
            return queue.pending
        }
        var failure: (any Error)?
        do {
            try db.inTransaction(.immediate) {
                for job in jobs { job.run(db) }
                return .commit
            }
        } catch {
            failure = error
        }
        for job in jobs { job.finish(failure) }
        let more = queue.withLock { queue in
            if queue.pending.isEmpty { queue.draining = false }
            return queue.draining
        }
        if more { scheduleBatch() }
    }
}

extension Store {
    /// Runs `body` (core store operations on the `Database` it is given) together with the other hot-path
    /// requests that arrive meanwhile, in one transaction; returns once that transaction has committed.
    /// See `WriteBatcher`.
    public func batched<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        try await batcher.submit(what, body)
    }
}
