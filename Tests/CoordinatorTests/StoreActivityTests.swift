import Foundation
import GRDB
import LabelAPI
import Testing

@testable import Coordinator

/// The dashboard's running counts: images finished per minute and per worker, kept by the ledger's trigger.
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
        #expect(byName["gpu-b"]?.imagesDone == 2 && byName["gpu-b"]?.currentTask == second.taskId)
        #expect(byName["gpu-c"]?.imagesDone == 0 && byName["gpu-c"]?.currentTask == third.taskId)
        #expect(activity.workers.first?.currentTask != nil, "workers holding a task come first")
    }

    @Test func aWorkersRateIsItsLastFullMinute() throws {
        let fixture = try StoreFixture()
        let job = try fixture.job(images: 40, shardSize: 40, leaseSeconds: 600)
        let task = try #require(try fixture.store.claim(worker: "w1"))
        // 31 images over 60 s: one every 2 s; the 31st closes the first window at 0.5 images/s.
        for (i, image) in task.images.prefix(31).enumerated() {
            if i > 0 { fixture.clock.advance(2) }
            _ = try fixture.store.recordLabel(taskId: task.taskId, token: task.token, imageId: image.id, label: StoreFixture.label(image: image.id))
        }
        fixture.clock.advance(5)
        let worker = try #require(try fixture.store.read("activity") { db in try fixture.store.activity(db, job: job.id) }.workers.first)
        #expect(abs(worker.imagesPerSecond - 31.0 / 60) < 1e-9, "\(worker.imagesPerSecond)")
        #expect(worker.imagesDone == 31)
    }

    @Test func deletingAJobTakesItsCountsAndTheMigrationCountsTheLedgerSoFar() throws {
        let fixture = try StoreFixture()
        let job = try fixture.job(images: 2, shardSize: 2)
        let task = try #require(try fixture.store.claim(worker: "w1"))
        for image in task.images {
            _ = try fixture.store.recordLabel(taskId: task.taskId, token: task.token, imageId: image.id, label: StoreFixture.label(image: image.id))
        }
        try fixture.store.complete(taskId: task.taskId, token: task.token)
        // The v4 backfill, run again from the ledger, gives what the trigger kept.
        let (kept, backfilled) = try fixture.store.write("recount") { db -> ([Row], [Row]) in
            let kept = try Row.fetchAll(db, sql: "SELECT job_id, minute, done, failed FROM job_minutes ORDER BY minute")
            try db.execute(sql: "DELETE FROM job_minutes; DELETE FROM job_workers;")
            try db.execute(sql: Migrations.countFinishedImagesFromTheLedger)
            return (kept, try Row.fetchAll(db, sql: "SELECT job_id, minute, done, failed FROM job_minutes ORDER BY minute"))
        }
        #expect(!kept.isEmpty && kept == backfilled)
        _ = try fixture.store.deleteJob(job.id)
        let left = try fixture.store.read("counting") { db in
            try Int.fetchOne(db, sql: "SELECT (SELECT COUNT(*) FROM job_minutes) + (SELECT COUNT(*) FROM job_workers)")
        }
        #expect(left == 0)
    }
}
