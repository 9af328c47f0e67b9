import Foundation
import GRDB
import Testing

import Coordinator
import LabelAPI

/// Group commit (`Store.batched`): requests that arrive while the writer is busy share one transaction, each
/// in its own savepoint.
@Suite struct StoreBatchTests {
    /// Holds the writer connection until `release`, so the requests submitted meanwhile queue up behind it.
    private final class WriterHold: @unchecked Sendable {
        let held = DispatchSemaphore(value: 0), released = DispatchSemaphore(value: 0)

        init(_ store: Store) {
            store.pool.asyncWriteWithoutTransaction { [self] _ in
                held.signal()
                released.wait()
            }
            held.wait()
        }

        func release() { released.signal() }
    }

    @Test func concurrentRequestsShareOneCommitAndFailAlone() async throws {
        let fixture = try StoreFixture()
        let job = try fixture.job(images: 6, shardSize: 1)
        let store = fixture.store
        let stale = try #require(try store.claim(worker: "early"))
        try store.complete(taskId: stale.taskId, token: stale.token)

        let hold = WriterHold(store)
        let before = store.batcher.batchCount
        let outcomes = LockedList<Result<Int64, Error>>()
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<5 {
                group.addTask {
                    do {
                        let id = try await store.batched("claim and complete") { db -> Int64 in
                            let task = try #require(try store.claim(db, worker: "w\(i)"))
                            try store.complete(db, taskId: task.taskId, token: task.token)
                            return task.taskId
                        }
                        outcomes.append(.success(id))
                    } catch {
                        outcomes.append(.failure(error))
                    }
                }
            }
            // A request that fails (a wrong lease token) in the middle of the batch.
            group.addTask {
                do {
                    try await store.batched("complete") { db in try store.complete(db, taskId: stale.taskId, token: otherToken(stale.token)) }
                    outcomes.append(.success(-1))
                } catch {
                    outcomes.append(.failure(error))
                }
            }
            while store.batcher.pendingCount < 6 { try? await Task.sleep(for: .milliseconds(5)) }
            hold.release()
        }

        #expect(store.batcher.batchCount == before + 1)
        let claimed = outcomes.items.compactMap { try? $0.get() }
        #expect(claimed.count == 5 && Set(claimed).count == 5 && !claimed.contains(stale.taskId))
        #expect(outcomes.items.filter { (try? $0.get()) == nil }.count == 1)
        let progress = try store.progress(job.id)
        #expect(progress.tasks.done == 6)
        #expect(progress.attempts == 6)
    }

    /// A request that wrote and then threw leaves nothing behind; the request after it in the batch commits.
    @Test func aFailingRequestRollsBackOnlyItsOwnWrites() async throws {
        struct Refused: Error {}
        let fixture = try StoreFixture()
        let job = try fixture.job(images: 2, shardSize: 1)
        let store = fixture.store
        let hold = WriterHold(store)
        let failed = Task {
            try await store.batched("claim, then refuse") { db in
                _ = try #require(try store.claim(db, worker: "undone"))
                throw Refused()
            }
        }
        while store.batcher.pendingCount < 1 { try? await Task.sleep(for: .milliseconds(5)) }
        let kept = Task { try await store.batched("claim") { db in try #require(try store.claim(db, worker: "kept")).taskId } }
        while store.batcher.pendingCount < 2 { try? await Task.sleep(for: .milliseconds(5)) }
        hold.release()
        await #expect(throws: StoreError.self) { try await failed.value }
        let keptTask = try await kept.value
        let progress = try store.progress(job.id)
        #expect(progress.tasks.leased == 1 && progress.tasks.queued == 1, "\(progress.tasks)")
        #expect(try store.workers().map(\.id) == ["kept"])
        #expect(keptTask > 0)
    }

    @Test func readsInABatchSeeItsWrites() async throws {
        let fixture = try StoreFixture()
        let job = try fixture.job(images: 2, shardSize: 1)
        let store = fixture.store
        let running = try await store.batched("claim") { db -> Int in
            _ = try store.claim(db, worker: "w1")
            return try store.progress(db, job.id).images.running
        }
        #expect(running == 1)
    }
}
