import Foundation
import Testing

import Coordinator
import LabelAPI

@Suite struct StoreLedgerTests {
    /// `run` again after Ctrl-C: a new worker process under the old one's name is one worker in the progress, not
    /// two (rough edges, item 10).
    @Test func aWorkerRestartedUnderItsNameCountsOnce() throws {
        let fixture = try StoreFixture()
        let job = try fixture.job(images: 4, shardSize: 1)
        let first = try #require(try fixture.store.claim(worker: "host-pid1", name: "local-0"))
        try fixture.store.release(taskId: first.taskId, token: first.token, reason: "interrupted")
        _ = try #require(try fixture.store.claim(worker: "host-pid2", name: "local-0"))
        #expect(try fixture.store.progress(job.id).activeWorkers == 1)
        _ = try #require(try fixture.store.claim(worker: "other-host", name: "other"))
        #expect(try fixture.store.progress(job.id).activeWorkers == 2)
    }

    /// One job through every kind of transition, and the ledger it leaves: a lease is one event, not one per image
    /// (its images run with it); images going back to pending and finishing are one each.
    @Test func everyTransitionAppendsAnEvent() throws {
        let fixture = try StoreFixture()
        let job = try fixture.job(images: 2, shardSize: 2, maxAttempts: 2, leaseSeconds: 10, ready: false)
        try fixture.store.setEmbeddings(jobId: job.id, sha256: StoreFixture.embeddingsSHA)
        let first = try #require(try fixture.store.claim(worker: "w1"))
        try fixture.store.release(taskId: first.taskId, token: first.token, reason: "stop")
        let second = try #require(try fixture.store.claim(worker: "w2"))
        fixture.clock.advance(10)
        _ = try fixture.store.sweepExpired()
        let third = try #require(try fixture.store.claim(worker: "w3"))
        _ = try fixture.store.recordLabel(taskId: third.taskId, token: third.token, imageId: "img0", label: StoreFixture.label())
        try fixture.store.failImage(taskId: third.taskId, token: third.token, imageId: "img1", reason: "broken")
        try fixture.store.complete(taskId: third.taskId, token: third.token)
        _ = second

        let events = try fixture.store.events(jobId: job.id)
        #expect(events.map(\.kind.rawValue) == [
            "job.created", "job.prepared", "job.embeddings",
            "task.leased", "job.running",
            "task.released", "image.pending", "image.pending",
            "task.leased",
            "lease.expired", "image.pending", "image.pending",
            "task.leased",
            "image.failed", "task.labeled", "task.done", "job.done",
        ])
        #expect(events.map(\.seq) == events.map(\.seq).sorted())
        #expect(Set(events.map(\.jobId)) == [job.id])
        let byKind = Dictionary(grouping: events, by: \.kind)
        #expect(byKind[.taskLeased]?.map(\.workerId) == ["w1", "w2", "w3"])
        #expect(byKind[.taskLeased]?.map(\.reason) == ["lease 1", "lease 2", "lease 3"])
        #expect(byKind[.imageFailed]?.first?.reason == "broken" && byKind[.imageFailed]?.first?.imageId == "img1")
        #expect(byKind[.leaseExpired]?.first?.workerId == "w2")
        #expect(byKind[.taskLabeled]?.map(\.images) == [1] && byKind[.taskLabeled]?.first?.workerId == "w3")
        #expect(events.filter { $0.kind.rawValue.hasPrefix("image.") }.allSatisfy { $0.imageId != nil && $0.taskId == first.taskId })
        #expect(events.filter { $0.kind != .taskLabeled }.allSatisfy { $0.images == nil })

        // Paging.
        let page = try fixture.store.events(jobId: job.id, after: events[2].seq, limit: 3)
        #expect(page.map(\.seq) == Array(events[3...5].map(\.seq)))
    }

    @Test func theLedgerIsAppendOnly() throws {
        let fixture = try StoreFixture()
        _ = try fixture.job()
        #expect(throws: (any Error).self) { try fixture.store.pool.write { db in try db.execute(sql: "DELETE FROM events") } }
        #expect(throws: (any Error).self) { try fixture.store.pool.write { db in try db.execute(sql: "UPDATE events SET kind = 'x'") } }
    }

    @Test func progressSurvivesAReopen() throws {
        let fixture = try StoreFixture()
        let job = try fixture.job(images: 5, shardSize: 2, leaseSeconds: 10)
        let a = try #require(try fixture.store.claim(worker: "w1"))
        _ = try fixture.store.recordLabel(taskId: a.taskId, token: a.token, imageId: "img0", label: StoreFixture.label())
        try fixture.store.failImage(taskId: a.taskId, token: a.token, imageId: "img1", reason: "bad")
        try fixture.store.complete(taskId: a.taskId, token: a.token)
        let b = try #require(try fixture.store.claim(worker: "w2"))
        fixture.clock.advance(11)
        _ = try fixture.store.sweepExpired()
        _ = try #require(try fixture.store.claim(worker: "w3"))
        _ = b

        let before = try fixture.store.progress(job.id)
        let eventsBefore = try fixture.store.events(jobId: job.id)
        let resultsBefore = try fixture.store.results(jobId: job.id)
        try fixture.reopen()
        #expect(try fixture.store.progress(job.id) == before)
        #expect(try fixture.store.events(jobId: job.id) == eventsBefore)
        #expect(try fixture.store.results(jobId: job.id) == resultsBefore)
        #expect(before.images == JobProgress.Images(pending: 1, running: 2, done: 1, failed: 1))
        #expect(before.tasks == JobProgress.Tasks(queued: 1, leased: 1, done: 1, failed: 0, cancelled: 0))
        #expect(before.attempts == 3 && before.retries == 1 && before.leaseExpiries == 1)
        #expect(before.activeWorkers == 3)  // all seen within 2 × leaseSeconds
        fixture.clock.advance(15)
        #expect(try fixture.store.progress(job.id).activeWorkers == 1)  // only w3, which still holds a live lease
    }
}
