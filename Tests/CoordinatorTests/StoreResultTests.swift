import Foundation
import Testing

import Coordinator
import LabelAPI

@Suite struct StoreResultTests {
    @Test func labelsMakeImagesDoneAndCompleteFinishesTheJob() throws {
        let fixture = try StoreFixture()
        let job = try fixture.job(images: 3, shardSize: 2)
        while let task = try fixture.store.claim(worker: "w1") {
            for image in task.images {
                let outcome = try fixture.store.recordLabel(taskId: task.taskId, token: task.token, imageId: image.id,
                                                            label: StoreFixture.label(image: image.id))
                #expect(outcome == .recorded)
            }
            try fixture.store.complete(taskId: task.taskId, token: task.token)
        }
        let progress = try fixture.store.progress(job.id)
        #expect(progress.state == .done && progress.images.done == 3 && progress.tasks.done == 2)
        #expect(progress.imagesDoneRecently == 3 && progress.finishedAt == fixture.clock.now)
        #expect(try fixture.store.label(jobId: job.id, imageId: "img2") == StoreFixture.label(image: "img2"))
        #expect(try fixture.store.label(jobId: job.id, imageId: "nope") == nil)
        #expect(try fixture.store.imageURI(jobId: job.id, imageId: "img1") == "file:///data/img1.jpg")
        #expect(try fixture.store.imageURI(jobId: job.id, imageId: "nope") == nil)
        let results = try fixture.store.results(jobId: job.id)
        #expect(results.map(\.labelPath) == ["labels/img0.png", "labels/img1.png", "labels/img2.png"])
        #expect(results.allSatisfy { $0.state == .done && $0.attempts == 1 && $0.width == 32 && $0.height == 24 })
        fixture.clock.advance(61)
        #expect(try fixture.store.progress(job.id).imagesDoneRecently == 0)
    }

    @Test func reuploadingTheSameLabelIsHarmlessAndADifferentOneIsRefused() throws {
        let fixture = try StoreFixture()
        let job = try fixture.job(images: 2, shardSize: 2)
        let task = try #require(try fixture.store.claim(worker: "w1"))
        let label = StoreFixture.label("1")
        #expect(try fixture.store.recordLabel(taskId: task.taskId, token: task.token, imageId: "img0", label: label) == .recorded)
        #expect(try fixture.store.recordLabel(taskId: task.taskId, token: task.token, imageId: "img0", label: label) == .unchanged)
        #expect(storeErrorCode {
            _ = try fixture.store.recordLabel(taskId: task.taskId, token: task.token, imageId: "img0", label: StoreFixture.label("2"))
        } == .conflict)
        #expect(try fixture.store.label(jobId: job.id, imageId: "img0") == label)
        // The lease labeled one image, however often it was sent: its end says so in one event.
        try fixture.store.complete(taskId: task.taskId, token: task.token)
        let labeled = try fixture.store.events(jobId: job.id).filter { $0.kind == .taskLabeled }
        #expect(labeled.map(\.images) == [1] && labeled.map(\.workerId) == ["w1"] && labeled.map(\.taskId) == [task.taskId])
    }

    @Test func recordLabelChecksTheImageAndTheLabel() throws {
        let fixture = try StoreFixture()
        _ = try fixture.job(images: 4, shardSize: 2)
        let task = try #require(try fixture.store.claim(worker: "w1"))
        #expect(storeErrorCode {
            _ = try fixture.store.recordLabel(taskId: task.taskId, token: task.token, imageId: "img2", label: StoreFixture.label())
        } == .notFound)  // in another task
        #expect(storeErrorCode {
            _ = try fixture.store.recordLabel(taskId: task.taskId, token: task.token, imageId: "zzz", label: StoreFixture.label())
        } == .notFound)
        var bad = StoreFixture.label()
        bad.sha256 = "ABC"
        #expect(storeErrorCode { _ = try fixture.store.recordLabel(taskId: task.taskId, token: task.token, imageId: "img0", label: bad) } == .invalid)
        bad = StoreFixture.label()
        bad.width = 0
        #expect(storeErrorCode { _ = try fixture.store.recordLabel(taskId: task.taskId, token: task.token, imageId: "img0", label: bad) } == .invalid)
        #expect(storeErrorCode {
            _ = try fixture.store.recordLabel(taskId: task.taskId, token: otherToken(task.token), imageId: "img0", label: StoreFixture.label())
        } == .staleLease)
    }

    @Test func aBadImageFailsAlone() throws {
        let fixture = try StoreFixture()
        let job = try fixture.job(images: 3, shardSize: 3)
        let task = try #require(try fixture.store.claim(worker: "w1"))
        try fixture.store.failImage(taskId: task.taskId, token: task.token, imageId: "img1", reason: "cannot decode JPEG")
        try fixture.store.failImage(taskId: task.taskId, token: task.token, imageId: "img1", reason: "again")  // no-op
        _ = try fixture.store.recordLabel(taskId: task.taskId, token: task.token, imageId: "img0", label: StoreFixture.label())
        #expect(storeErrorCode { try fixture.store.failImage(taskId: task.taskId, token: task.token, imageId: "img0", reason: "r") } == .conflict)
        #expect(storeErrorCode {
            _ = try fixture.store.recordLabel(taskId: task.taskId, token: task.token, imageId: "img1", label: StoreFixture.label())
        } == .conflict)
        // The task and the job go on: the lease is still good and the other images still run.
        _ = try fixture.store.heartbeat(taskId: task.taskId, token: task.token)
        var progress = try fixture.store.progress(job.id)
        #expect(progress.state == .running && progress.tasks.leased == 1)
        #expect(progress.images.failed == 1 && progress.images.done == 1 && progress.images.running == 1)
        #expect(progress.recentErrors == [JobProgress.ImageError(imageId: "img1", uri: "file:///data/img1.jpg",
                                                                  error: "cannot decode JPEG", at: fixture.clock.now)])

        // Completing with img2 still running fails it; every image is then done or failed: the job is done.
        try fixture.store.complete(taskId: task.taskId, token: task.token)
        progress = try fixture.store.progress(job.id)
        #expect(progress.state == .done && progress.images.done == 1 && progress.images.failed == 2)
        let results = try fixture.store.results(jobId: job.id)
        #expect(results.map(\.error) == [nil, "cannot decode JPEG", "task completed without a result"])
    }

    @Test func completingTwiceWithTheSameTokenIsANoOp() throws {
        let fixture = try StoreFixture()
        let job = try fixture.job(images: 4, shardSize: 2)
        let task = try #require(try fixture.store.claim(worker: "w1"))
        try fixture.store.complete(taskId: task.taskId, token: task.token)
        try fixture.store.complete(taskId: task.taskId, token: task.token)
        #expect(try fixture.kinds(job.id).filter { $0 == "task.done" }.count == 1)
        #expect(storeErrorCode { _ = try fixture.store.heartbeat(taskId: task.taskId, token: task.token) } == .staleLease)
        #expect(storeErrorCode { try fixture.store.complete(taskId: task.taskId, token: otherToken(task.token)) } == .staleLease)
        #expect(try fixture.store.progress(job.id).state == .running)
    }

    @Test func anotherWorkersTokenIsRefused() throws {
        let fixture = try StoreFixture()
        _ = try fixture.job(images: 4, shardSize: 2)
        let mine = try #require(try fixture.store.claim(worker: "w1"))
        let theirs = try #require(try fixture.store.claim(worker: "w2"))
        #expect(storeErrorCode { try fixture.store.complete(taskId: mine.taskId, token: theirs.token) } == .staleLease)
        #expect(storeErrorCode { _ = try fixture.store.heartbeat(taskId: theirs.taskId, token: mine.token) } == .staleLease)
        try fixture.store.complete(taskId: mine.taskId, token: mine.token)
        try fixture.store.complete(taskId: theirs.taskId, token: theirs.token)
    }
}
