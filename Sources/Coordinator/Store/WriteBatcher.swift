import Foundation
import GRDB

/// Group commit: the hot path's writes (claims, heartbeats, completions, uploads) that arrive while a commit
/// is under way wait and then share the next transaction, each in its own savepoint. A commit writes every page
/// it touched to the WAL, and consecutive claims and completions touch mostly the same pages (the tasks index,
/// the tail of the ledger), so one commit for a batch writes far less than one per request.
///
/// Nothing is answered before its batch has committed: a failed commit fails every request in the batch.
final class WriteBatcher: @unchecked Sendable {
    /// One request: `run` executes it inside the batch's transaction and keeps its outcome; `finish` answers
    /// the caller once the transaction has ended (with the batch's error when the commit failed).
    private struct Job {
        let run: () -> Void
        let finish: (Error?) -> Void
    }

    private let pool: DatabasePool
    private let lock = NSLock()
    private var pending: [Job] = []
    private var draining = false
    private var batches = 0

    /// Requests waiting for the next batch.
    var pendingCount: Int { lock.withLock { pending.count } }

    /// Transactions committed or attempted so far (the tests check that concurrent requests share them).
    var batchCount: Int { lock.withLock { batches } }

    init(pool: DatabasePool) {
        self.pool = pool
    }

    /// Runs `body` in the next batch. Its `Store` calls see the batch's connection: writes become savepoints,
    /// reads see the batch's writes so far.
    func submit<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let outcome = Outcome<T>()
            enqueue(Job(
                run: { outcome.result = Result { try body() } },
                finish: { batchError in continuation.resume(with: batchError.map { .failure($0) } ?? outcome.result!) }))
        }
    }

    private func enqueue(_ job: Job) {
        let start = lock.withLock {
            pending.append(job)
            defer { draining = true }
            return !draining
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
        let jobs = lock.withLock {
            defer { pending.removeAll(keepingCapacity: true) }
            batches += 1
            return pending
        }
        var failure: Error?
        do {
            try db.inTransaction(.immediate) {
                for job in jobs { job.run() }
                return .commit
            }
        } catch {
            failure = StoreError.wrap(error, "committing a batch of \(jobs.count) writes")
        }
        for job in jobs { job.finish(failure) }
        let more = lock.withLock {
            if pending.isEmpty { draining = false }
            return draining
        }
        if more { scheduleBatch() }
    }
}

/// A batched request's result, set on the writer and read after the commit.
private final class Outcome<T>: @unchecked Sendable {
    var result: Result<T, Error>?
}

extension Store {
    /// Runs `body` (which calls this store) together with the other hot-path requests that arrive meanwhile,
    /// in one transaction; returns once that transaction has committed. See `WriteBatcher`.
    public func batched<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await batcher.submit(body)
    }
}
