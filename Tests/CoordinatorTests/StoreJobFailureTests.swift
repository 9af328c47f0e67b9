import Foundation
import GRDB
import LabelAPI
import Testing

import Coordinator

/// Failures of a whole job: each report is an attempt, a job that keeps failing ends `failed` with the reason
/// (its pending images with it), and a retry runs it again.
@Suite struct StoreJobFailureTests {
    @Test func reportsCountAndTheThirdInARowFailsTheJob() throws {
        let fixture = try StoreFixture()
        let job = try fixture.job(images: 6, shardSize: 2, maxAttempts: 3)
        let store = fixture.store
        for n in 1...2 {
            let task = try #require(try store.claim(worker: "w\(n)"))
            #expect(try store.reportJobFailure(taskId: task.taskId, token: task.token, reason: "blob 1234 is missing") == .requeued)
            #expect(storeErrorCode { _ = try store.heartbeat(taskId: task.taskId, token: task.token) } == .staleLease)
        }
        var progress = try store.progress(job.id)
        #expect(progress.state == .running && progress.images.pending == 6)
        #expect(progress.problems.first == JobProgress.Problem(scope: .job, reason: "blob 1234 is missing", count: 2,
                                                               lastAt: fixture.clock.now, examples: ["w2", "w1"]))

        let third = try #require(try store.claim(worker: "w3"))
        #expect(try store.reportJobFailure(taskId: third.taskId, token: third.token, reason: "blob 1234 is missing") == .jobFailed)
        progress = try store.progress(job.id)
        #expect(progress.state == .failed)
        #expect(progress.failure == "could not be prepared 3 times in a row; the last time: blob 1234 is missing")
        #expect(progress.images == JobProgress.Images(pending: 0, running: 0, done: 0, failed: 6))
        #expect(progress.tasks.failed == 3 && progress.tasks.queued == 0 && progress.tasks.leased == 0)
        #expect(try store.claim(worker: "w4") == nil)
        let results = try store.results(jobId: job.id)
        #expect(results.allSatisfy { $0.error == "the job failed: " + (progress.failure ?? "") })
        let kinds = try fixture.kinds(job.id)
        #expect(kinds.filter { $0 == "job.problem" }.count == 3 && kinds.last == "job.failed")
        // Attempts record the failures; the ledger tells each worker's part.
        let outcomes = try store.pool.read { db in try String.fetchAll(db, sql: "SELECT outcome FROM attempts ORDER BY started_at") }
        #expect(outcomes == ["failed", "failed", "failed"])
        #expect(storeErrorCode { try store.cancelJob(job.id, reason: "too late") } == .conflict)

        // Once the cause is fixed, a retry runs every image again, and old reports no longer count.
        #expect(try store.retryFailed(job.id) == 6)
        progress = try store.progress(job.id)
        #expect(progress.state == .running && progress.failure == nil && progress.images.pending == 6)
        let again = try #require(try store.claim(worker: "w1"))
        #expect(try store.reportJobFailure(taskId: again.taskId, token: again.token, reason: "blob 1234 is missing") == .requeued)
        #expect(try store.progress(job.id).state == .running)
    }

    /// One broken worker in a healthy fleet does not fail the job: a labeled image ends the streak. Its task
    /// still runs out of attempts, and fails with the reason rather than looping.
    @Test func progressEndsTheStreakButATaskStillRunsOutOfAttempts() throws {
        let fixture = try StoreFixture()
        let job = try fixture.job(images: 4, shardSize: 1, maxAttempts: 3)
        let store = fixture.store
        let good = try #require(try store.claim(worker: "good"))  // task 1
        for n in 1...2 {
            let task = try #require(try store.claim(worker: "bad"))  // task 2 both times: it is the oldest queued
            #expect(try store.reportJobFailure(taskId: task.taskId, token: task.token, reason: "no space left on device") == .requeued, "\(n)")
            fixture.clock.advance(1)
        }
        _ = try store.recordLabel(taskId: good.taskId, token: good.token, imageId: "img0", label: StoreFixture.label())
        fixture.clock.advance(1)
        let task = try #require(try store.claim(worker: "bad"))
        #expect(try store.reportJobFailure(taskId: task.taskId, token: task.token, reason: "no space left on device") == .taskFailed)
        let progress = try store.progress(job.id)
        #expect(progress.state == .running)
        #expect(progress.images.failed == 1 && progress.images.done == 1)
        let failed = try #require(try store.results(jobId: job.id).first { $0.state == .failed })
        #expect(failed.error == "its job could not be prepared 3 times; the last time: no space left on device")
    }

    @Test func aJobWithoutEmbeddingsCanFailAndRetryWaitsForThem() throws {
        let fixture = try StoreFixture()
        let job = try fixture.job(images: 3, shardSize: 2, ready: false)
        let store = fixture.store
        try store.failJob(job.id, reason: "the class embeddings could not be computed: no tokenizer")
        try store.failJob(job.id, reason: "again")  // no-op
        var progress = try store.progress(job.id)
        #expect(progress.state == .failed && progress.images.failed == 3)
        #expect(progress.failure == "the class embeddings could not be computed: no tokenizer")
        #expect(try store.retryFailed(job.id) == 3)
        #expect(try store.claim(worker: "w1") == nil)  // not before its embeddings are ready
        try store.setEmbeddings(jobId: job.id, sha256: StoreFixture.embeddingsSHA)
        #expect(try store.claim(worker: "w1") != nil)
        progress = try store.progress(job.id)
        #expect(progress.state == .running)
    }

    @Test func longReasonsAreClipped() throws {
        let fixture = try StoreFixture()
        let job = try fixture.job(images: 1, shardSize: 1)
        try fixture.store.failJob(job.id, reason: String(repeating: "x", count: 1 << 20))
        #expect(try fixture.store.progress(job.id).failure?.count == 2000)
    }

    /// Image failures are grouped by their reason with the image's own URI and id taken out.
    @Test func imageProblemsGroupByReason() throws {
        let fixture = try StoreFixture()
        let job = try fixture.job(images: 4, shardSize: 4)
        let task = try #require(try fixture.store.claim(worker: "w1"))
        for image in task.images.prefix(3) {
            try fixture.store.failImage(taskId: task.taskId, token: task.token, imageId: image.id, reason: "\(image.uri): HTTP 404")
        }
        try fixture.store.failImage(taskId: task.taskId, token: task.token, imageId: task.images[3].id, reason: "not a JPEG or PNG image")
        let problems = try fixture.store.progress(job.id).problems
        #expect(problems.map(\.reason) == ["{uri}: HTTP 404", "not a JPEG or PNG image"])
        #expect(problems.map(\.count) == [3, 1])
        #expect(problems[0].examples.count == 3 && problems.allSatisfy { $0.scope == .image })
    }
}
