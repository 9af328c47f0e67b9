import Foundation
import GRDB
import LabelAPI
import Testing

import Coordinator

/// The dashboard's running counts: images finished per minute and per worker, kept by the ledger's trigger. A
/// failed image counts when it fails; labeled images when their lease ends (its `task.labeled` event).
@Suite struct StoreActivityTests {
    @Test func finishedImagesAreCountedPerMinuteAndPerWorker() throws {
        let fixture = try StoreFixture()
        let job = try fixture.job(images: 6, shardSize: 2)
        let first = try #require(try fixture.store.claim(worker: "w1", name: "gpu-a"))
        _ = try fixture.store.recordLabel(taskId: first.taskId, token: first.token, imageId: first.images[0].id, label: StoreFixture.label(image: first.images[0].id))
        try fixture.store.failImage(taskId: first.taskId, token: first.token, imageId: first.images[1].id, reason: "corrupt")
        try fixture.store.complete(taskId: first.taskId, token: first.token)
        fixture.clock.advance(90)
        let second = try #require(try fixture.store.claim(worker: "w2", name: "gpu-b"))
        for image in second.images {
            _ = try fixture.store.recordLabel(taskId: second.taskId, token: second.token, imageId: image.id, label: StoreFixture.label(image: image.id))
        }
        let labeledInALiveLease = try fixture.store.read("activity") { db in try fixture.store.activity(db, job: job.id) }
        #expect(labeledInALiveLease.workers.first { $0.name == "gpu-b" }?.imagesDone == 0, "counted when the lease ends")
        try fixture.store.complete(taskId: second.taskId, token: second.token)
        let third = try #require(try fixture.store.claim(worker: "w3", name: "gpu-c"))  // holds a task, has finished nothing

        let activity = try fixture.store.read("activity") { db in try fixture.store.activity(db, job: job.id) }
        let start = (fixture.clock.now.timeIntervalSince1970 - 90) / 60
        #expect(activity.minutes == [
            .init(at: floor(start) * 60, done: 1, failed: 1),
            .init(at: floor(start + 1.5) * 60, done: 2, failed: 0),
        ])
        let byName = Dictionary(uniqueKeysWithValues: activity.workers.map { ($0.name, $0) })
        #expect(byName["gpu-a"]?.imagesDone == 1 && byName["gpu-a"]?.imagesFailed == 1 && byName["gpu-a"]?.currentTask == nil)
        #expect(byName["gpu-a"]?.imagesPerSecond == 0, "nothing for 90 s")
        #expect(byName["gpu-b"]?.imagesDone == 2 && byName["gpu-b"]?.currentTask == nil)
        #expect(byName["gpu-c"]?.imagesDone == 0 && byName["gpu-c"]?.currentTask == third.taskId)
        #expect(activity.workers.first?.currentTask != nil, "workers holding a task come first")
    }

    @Test func aWorkersRateIsItsLastFullMinute() throws {
        let fixture = try StoreFixture()
        let job = try fixture.job(images: 40, shardSize: 1, leaseSeconds: 600)
        // 31 leases of one image over 60 s: one every 2 s; the 31st closes the first window at 31 images in 60 s.
        for i in 0..<31 {
            if i > 0 { fixture.clock.advance(2) }
            let task = try #require(try fixture.store.claim(worker: "w1"))
            let image = task.images[0].id
            _ = try fixture.store.recordLabel(taskId: task.taskId, token: task.token, imageId: image, label: StoreFixture.label(image: image))
            try fixture.store.complete(taskId: task.taskId, token: task.token)
        }
        fixture.clock.advance(5)
        let worker = try #require(try fixture.store.read("activity") { db in try fixture.store.activity(db, job: job.id) }.workers.first)
        #expect(abs(worker.imagesPerSecond - 31.0 / 60) < 1e-9, "\(worker.imagesPerSecond)")
        #expect(worker.imagesDone == 31)
    }

    @Test func deletingAJobTakesItsCountsWhichARecountOfTheLedgerGives() throws {
        let fixture = try StoreFixture()
        let job = try fixture.job(images: 2, shardSize: 2)
        let task = try #require(try fixture.store.claim(worker: "w1"))
        for image in task.images {
            _ = try fixture.store.recordLabel(taskId: task.taskId, token: task.token, imageId: image.id, label: StoreFixture.label(image: image.id))
        }
        try fixture.store.complete(taskId: task.taskId, token: task.token)
        // A recount of the ledger gives what the trigger kept.
        let (kept, recounted) = try fixture.store.read("recount") { db -> ([Row], [Row]) in
            (try Row.fetchAll(db, sql: "SELECT job_id, minute, done, failed FROM job_minutes ORDER BY minute"),
             try Row.fetchAll(db, sql: """
                SELECT job_id, CAST(at / 60 AS INTEGER) AS minute, SUM(COALESCE(images, 0)) AS done, SUM(kind = 'image.failed') AS failed
                FROM events WHERE kind IN ('task.labeled', 'image.failed') GROUP BY 1, 2 ORDER BY 2
                """))
        }
        #expect(!kept.isEmpty && kept == recounted && kept.first?["done"] == 2)
        _ = try fixture.store.deleteJob(job.id)
        let left = try fixture.store.read("counting") { db in
            try Int.fetchOne(db, sql: "SELECT (SELECT COUNT(*) FROM job_minutes) + (SELECT COUNT(*) FROM job_workers)")
        }
        #expect(left == 0)
    }

    /// The kept image counts equal a count of the rows after every kind of change: labels, failures, a release, an
    /// expired lease swept to a dead letter, retry, cancel, a job that fails as a whole, rejected manifest lines.
    @Test func keptImageCountsEqualTheRowsAfterEveryPath() throws {
        let fixture = try StoreFixture()
        func check(_ job: String, _ step: String) throws {
            let (kept, counted) = try fixture.store.read("counts") { db in
                let kept = try fixture.store.imageCounts(db, job)
                let row = try #require(try Row.fetchOne(db, sql: """
                    SELECT SUM(finished = 0) AS unfinished, SUM(state = 'done') AS done, SUM(state = 'failed') AS failed
                    FROM images WHERE job_id = ?
                    """, arguments: [job]))
                return ([kept.unfinished, kept.done, kept.failed], [row["unfinished"] as Int, row["done"] as Int, row["failed"] as Int])
            }
            #expect(kept == counted, "after \(step)")
        }
        let job = try fixture.job(images: 8, shardSize: 2, maxAttempts: 1, leaseSeconds: 10)
        try check(job.id, "creation")
        let a = try #require(try fixture.store.claim(worker: "w1"))
        _ = try fixture.store.recordLabel(taskId: a.taskId, token: a.token, imageId: a.images[0].id, label: StoreFixture.label(image: a.images[0].id))
        try fixture.store.failImage(taskId: a.taskId, token: a.token, imageId: a.images[1].id, reason: "bad")
        try fixture.store.complete(taskId: a.taskId, token: a.token)
        try check(job.id, "a label and a failure")
        let b = try #require(try fixture.store.claim(worker: "w1"))
        try fixture.store.release(taskId: b.taskId, token: b.token, reason: "stopping")
        try check(job.id, "a release")
        _ = try #require(try fixture.store.claim(worker: "w2"))
        fixture.clock.advance(30)
        _ = try fixture.store.sweepExpired()
        try check(job.id, "an expired lease, dead-lettered")
        _ = try fixture.store.retryFailed(job.id)
        try check(job.id, "retry")
        try fixture.store.cancelJob(job.id, reason: "enough")
        try check(job.id, "cancel")

        let other = try fixture.job(images: 4, shardSize: 2, prefix: "o")
        _ = try #require(try fixture.store.claim(worker: "w3"))
        try fixture.store.failJob(other.id, reason: "the model does not load")
        try check(other.id, "a job failed as a whole")
    }
}
