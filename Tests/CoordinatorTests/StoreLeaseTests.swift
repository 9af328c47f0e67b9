import Foundation
import Testing

import Coordinator
import LabelAPI

@Suite struct StoreLeaseTests {
    @Test func nothingIsClaimableBeforeEmbeddings() throws {
        let fixture = try StoreFixture()
        let job = try fixture.job(images: 4, shardSize: 2, ready: false)
        #expect(try fixture.store.claim(worker: "w1") == nil)
        try fixture.store.setEmbeddings(jobId: job.id, sha256: StoreFixture.embeddingsSHA)
        #expect(try fixture.store.claim(worker: "w1") != nil)
    }

    @Test func claimTakesTheOldestTaskWithItsImages() throws {
        let fixture = try StoreFixture()
        let first = try fixture.job(images: 3, shardSize: 2, leaseSeconds: 30, prefix: "a")
        let second = try fixture.job(images: 2, shardSize: 2, prefix: "b")

        let one = try #require(try fixture.store.claim(worker: "w1"))
        #expect(one.jobId == first.id)
        #expect(one.images == [ClaimedTask.Image(id: "a0", uri: "file:///data/a0.jpg"), ClaimedTask.Image(id: "a1", uri: "file:///data/a1.jpg")])
        #expect(one.attempt == 1)
        #expect(one.token.count == 32 && one.token.allSatisfy(\.isHexDigit))
        #expect(one.expiresAt == fixture.clock.now + 30)
        #expect(one.modelId == first.modelId && one.embeddingsSHA256 == StoreFixture.embeddingsSHA)

        let two = try #require(try fixture.store.claim(worker: "w2", leaseSeconds: 5))
        #expect(two.jobId == first.id && two.images.map(\.id) == ["a2"])
        #expect(two.expiresAt == fixture.clock.now + 5)
        #expect(two.token != one.token)
        let three = try #require(try fixture.store.claim(worker: "w1"))
        #expect(three.jobId == second.id)
        #expect(try fixture.store.claim(worker: "w3") == nil)

        let job = try #require(try fixture.store.job(first.id))
        #expect(job.state == .running && job.startedAt == fixture.clock.now)
        let progress = try fixture.store.progress(first.id)
        #expect(progress.images.running == 3 && progress.tasks.leased == 2 && progress.attempts == 2)
        #expect(progress.activeWorkers == 2)
        let workers = try fixture.store.workers()
        #expect(workers.map(\.id) == ["w1", "w2", "w3"])
        #expect(workers.map(\.activeLeases) == [2, 1, 0])
        #expect(workers.map(\.leaseCount) == [2, 1, 0])
    }

    @Test func heartbeatExtendsTheLease() throws {
        let fixture = try StoreFixture()
        _ = try fixture.job(leaseSeconds: 10)
        let task = try #require(try fixture.store.claim(worker: "w1"))
        fixture.clock.advance(8)
        let expiry = try fixture.store.heartbeat(taskId: task.taskId, token: task.token)
        #expect(expiry == fixture.clock.now + 10)
        fixture.clock.advance(8)  // past the first expiry, within the extended one
        #expect(try fixture.store.sweepExpired() == 0)
        #expect(try fixture.store.heartbeat(taskId: task.taskId, token: task.token, leaseSeconds: 100) == fixture.clock.now + 100)
        try fixture.store.complete(taskId: task.taskId, token: task.token)
    }

    @Test func expiredLeaseIsStaleEvenBeforeTheSweep() throws {
        let fixture = try StoreFixture()
        _ = try fixture.job(leaseSeconds: 10)
        let task = try #require(try fixture.store.claim(worker: "w1"))
        fixture.clock.advance(10)
        let label = StoreFixture.label()
        #expect(storeErrorCode { _ = try fixture.store.heartbeat(taskId: task.taskId, token: task.token) } == .staleLease)
        #expect(storeErrorCode { _ = try fixture.store.recordLabel(taskId: task.taskId, token: task.token, imageId: "img0", label: label) } == .staleLease)
        #expect(storeErrorCode { try fixture.store.failImage(taskId: task.taskId, token: task.token, imageId: "img0", reason: "r") } == .staleLease)
        #expect(storeErrorCode { try fixture.store.complete(taskId: task.taskId, token: task.token) } == .staleLease)
        #expect(storeErrorCode { try fixture.store.release(taskId: task.taskId, token: task.token, reason: "r") } == .staleLease)
        #expect(storeErrorCode { try fixture.store.complete(taskId: 999, token: task.token) } == .notFound)
    }

    @Test func sweepRequeuesCountsTheAttemptAndRecordsTheWorker() throws {
        let fixture = try StoreFixture()
        let job = try fixture.job(images: 2, shardSize: 2, maxAttempts: 3, leaseSeconds: 10)
        let first = try #require(try fixture.store.claim(worker: "w1"))
        _ = try fixture.store.recordLabel(taskId: first.taskId, token: first.token, imageId: "img0", label: StoreFixture.label())
        fixture.clock.advance(9)
        #expect(try fixture.store.sweepExpired() == 0)
        fixture.clock.advance(1)
        #expect(try fixture.store.sweepExpired() == 1)
        #expect(try fixture.store.sweepExpired() == 0)

        let progress = try fixture.store.progress(job.id)
        #expect(progress.tasks.queued == 1 && progress.images.pending == 1 && progress.images.done == 1)
        #expect(progress.leaseExpiries == 1)
        let expired = try #require(try fixture.store.events(jobId: job.id).first { $0.kind == .leaseExpired })
        #expect(expired.workerId == "w1" && expired.taskId == first.taskId && expired.at == fixture.clock.now)

        // The next lease gets only the image that is not done, and counts as attempt 2.
        let second = try #require(try fixture.store.claim(worker: "w2"))
        #expect(second.taskId == first.taskId && second.attempt == 2)
        #expect(second.images.map(\.id) == ["img1"])
        // The old token is stale now, even though its holder may still be running.
        #expect(storeErrorCode { _ = try fixture.store.heartbeat(taskId: first.taskId, token: first.token) } == .staleLease)
        #expect(storeErrorCode { try fixture.store.complete(taskId: first.taskId, token: first.token) } == .staleLease)
        #expect(storeErrorCode {
            _ = try fixture.store.recordLabel(taskId: first.taskId, token: first.token, imageId: "img1", label: StoreFixture.label())
        } == .staleLease)
        #expect(try fixture.store.progress(job.id).retries == 1)
    }

    @Test func deadLetterAfterMaxAttempts() throws {
        let fixture = try StoreFixture()
        let job = try fixture.job(images: 3, shardSize: 3, maxAttempts: 2, leaseSeconds: 10)
        var last: ClaimedTask?
        for worker in ["w1", "w2"] {
            let claimed = try #require(try fixture.store.claim(worker: worker))
            last = claimed
            if worker == "w1" {
                _ = try fixture.store.recordLabel(taskId: last!.taskId, token: last!.token, imageId: "img1", label: StoreFixture.label())
            }
            fixture.clock.advance(11)
            #expect(try fixture.store.sweepExpired() == 1)
        }
        #expect(try fixture.store.claim(worker: "w3") == nil)
        let results = try fixture.store.results(jobId: job.id)
        #expect(results.map(\.state) == [.failed, .done, .failed])
        #expect(results[0].error == "lease expired 2 times (last worker w2)")
        #expect(results[0].attempts == 2 && results[1].attempts == 1)
        let progress = try fixture.store.progress(job.id)
        #expect(progress.state == .done && progress.tasks.failed == 1 && progress.leaseExpiries == 2)
        #expect(progress.recentErrors.map(\.imageId).sorted() == ["img0", "img2"])
        #expect(progress.finishedAt == fixture.clock.now)
        let kinds = try fixture.kinds(job.id)
        #expect(kinds.suffix(5) == ["lease.expired", "task.failed", "image.failed", "image.failed", "job.done"])
        #expect(storeErrorCode { try fixture.store.complete(taskId: last!.taskId, token: last!.token) } == .staleLease)
    }

    @Test func leaseWhoseImagesAreAllFinishedEndsDone() throws {
        let fixture = try StoreFixture()
        let job = try fixture.job(images: 1, shardSize: 1, leaseSeconds: 10)
        let task = try #require(try fixture.store.claim(worker: "w1"))
        _ = try fixture.store.recordLabel(taskId: task.taskId, token: task.token, imageId: "img0", label: StoreFixture.label())
        fixture.clock.advance(10)
        #expect(try fixture.store.sweepExpired() == 1)
        let progress = try fixture.store.progress(job.id)
        #expect(progress.state == .done && progress.tasks.done == 1 && progress.tasks.queued == 0)
    }

    @Test func releaseRequeuesWithoutCountingTheAttempt() throws {
        let fixture = try StoreFixture()
        let job = try fixture.job(images: 2, shardSize: 2, maxAttempts: 1, leaseSeconds: 10)
        let first = try #require(try fixture.store.claim(worker: "w1"))
        try fixture.store.release(taskId: first.taskId, token: first.token, reason: "worker shutting down")
        #expect(storeErrorCode { try fixture.store.complete(taskId: first.taskId, token: first.token) } == .staleLease)
        let progress = try fixture.store.progress(job.id)
        #expect(progress.tasks.queued == 1 && progress.images.pending == 2 && progress.images.running == 0)

        // maxAttempts is 1 and the released lease did not count: the next lease is the first counted attempt, so
        // its expiry dead-letters it with "expired 1 times".
        let second = try #require(try fixture.store.claim(worker: "w2"))
        #expect(second.taskId == first.taskId && second.attempt == 2 && second.images.count == 2)
        fixture.clock.advance(10)
        #expect(try fixture.store.sweepExpired() == 1)
        #expect(try fixture.store.results(jobId: job.id).allSatisfy { $0.error == "lease expired 1 times (last worker w2)" })
        let released = try #require(try fixture.store.events(jobId: job.id).first { $0.kind == .taskReleased })
        #expect(released.reason == "worker shutting down" && released.workerId == "w1")
    }

    @Test func claimRejectsBadInput() throws {
        let fixture = try StoreFixture()
        #expect(storeErrorCode { _ = try fixture.store.claim(worker: "") } == .invalid)
        #expect(storeErrorCode { _ = try fixture.store.claim(worker: "w\u{7}") } == .invalid)
        #expect(storeErrorCode { _ = try fixture.store.claim(worker: "w", leaseSeconds: 0) } == .invalid)
        #expect(try fixture.store.claim(worker: "idle") == nil)
        #expect(try fixture.store.workers().map(\.id) == ["idle"])
    }
}
