import Foundation
import Testing

import Coordinator
import LabelAPI

@Suite struct StoreControlTests {
    @Test func cancelMakesLeasesStaleAndNothingClaimable() throws {
        let fixture = try StoreFixture()
        let job = try fixture.job(images: 6, shardSize: 2)
        let task = try #require(try fixture.store.claim(worker: "w1"))
        try fixture.store.cancelJob(job.id, reason: "operator asked")
        try fixture.store.cancelJob(job.id, reason: "again")  // no-op

        #expect(try fixture.store.claim(worker: "w2") == nil)
        #expect(storeErrorCode { _ = try fixture.store.heartbeat(taskId: task.taskId, token: task.token) } == .staleLease)
        #expect(storeErrorCode {
            _ = try fixture.store.recordLabel(taskId: task.taskId, token: task.token, imageId: "img0", label: StoreFixture.label())
        } == .staleLease)
        #expect(storeErrorCode { try fixture.store.complete(taskId: task.taskId, token: task.token) } == .staleLease)

        let progress = try fixture.store.progress(job.id)
        #expect(progress.state == .cancelled && progress.tasks.cancelled == 3 && progress.tasks.total == 3)
        // Nobody runs the leased task's images any more: they are pending again, not running for ever.
        #expect(progress.images.running == 0 && progress.images.pending == 6)
        #expect(try fixture.store.fleetCounts().images["running"] == 0)
        #expect(progress.finishedAt == fixture.clock.now)
        let events = try fixture.store.events(jobId: job.id)
        #expect(events.filter { $0.kind == .taskCancelled }.count == 3)
        #expect(events.first { $0.kind == .taskCancelled && $0.taskId == task.taskId }?.workerId == "w1")
        #expect(events.last?.kind == .jobCancelled && events.last?.reason == "operator asked")
        #expect(try fixture.store.sweepExpired() == 0)
        #expect(storeErrorCode { _ = try fixture.store.retryFailed(job.id) } == .conflict)
        #expect(storeErrorCode { try fixture.store.setEmbeddings(jobId: job.id, sha256: String(repeating: "c", count: 64)) } == .conflict)
    }

    @Test func aDoneJobCannotBeCancelled() throws {
        let fixture = try StoreFixture()
        let job = try fixture.job(images: 1, shardSize: 1)
        let task = try #require(try fixture.store.claim(worker: "w1"))
        _ = try fixture.store.recordLabel(taskId: task.taskId, token: task.token, imageId: "img0", label: StoreFixture.label())
        try fixture.store.complete(taskId: task.taskId, token: task.token)
        #expect(storeErrorCode { try fixture.store.cancelJob(job.id, reason: "late") } == .conflict)
    }

    @Test func retryFailedPutsFailedImagesIntoNewTasks() throws {
        let fixture = try StoreFixture()
        let job = try fixture.job(images: 5, shardSize: 5)
        let task = try #require(try fixture.store.claim(worker: "w1"))
        for id in ["img0", "img2"] {
            _ = try fixture.store.recordLabel(taskId: task.taskId, token: task.token, imageId: id, label: StoreFixture.label())
        }
        try fixture.store.failImage(taskId: task.taskId, token: task.token, imageId: "img1", reason: "bad")
        try fixture.store.complete(taskId: task.taskId, token: task.token)  // img3, img4 fail without result
        #expect(try fixture.store.progress(job.id).state == .done)

        fixture.clock.advance(1)
        #expect(try fixture.store.retryFailed(job.id) == 3)
        #expect(try fixture.store.retryFailed(job.id) == 0)
        var record = try #require(try fixture.store.job(job.id))
        #expect(record.state == .running && record.finishedAt == nil && record.taskCount == 2)
        var progress = try fixture.store.progress(job.id)
        #expect(progress.images.pending == 3 && progress.images.failed == 0 && progress.tasks.queued == 1)

        let retry = try #require(try fixture.store.claim(worker: "w2"))
        #expect(retry.taskId != task.taskId && retry.attempt == 1)
        #expect(retry.images.map(\.id) == ["img1", "img3", "img4"])
        for image in retry.images {
            _ = try fixture.store.recordLabel(taskId: retry.taskId, token: retry.token, imageId: image.id, label: StoreFixture.label())
        }
        try fixture.store.complete(taskId: retry.taskId, token: retry.token)
        progress = try fixture.store.progress(job.id)
        #expect(progress.state == .done && progress.images.done == 5)
        record = try #require(try fixture.store.job(job.id))
        #expect(record.finishedAt == fixture.clock.now)
        let results = try fixture.store.results(jobId: job.id)
        #expect(results.map(\.attempts) == [1, 2, 1, 2, 2])
        #expect(results.allSatisfy { $0.error == nil && $0.state == .done })
        let kinds = try fixture.kinds(job.id)
        #expect(kinds.filter { $0 == "job.done" }.count == 2)
        #expect(kinds.contains("task.created") && kinds.filter { $0 == "image.pending" }.count == 3)
    }
}
