import Foundation
import GRDB
import LabelAPI
import Testing

import Coordinator

/// A job's manifest read a batch at a time (`beginJob` + `prepareBatch`): the same images, tasks and rejections as
/// in one transaction, from wherever a restart left it; claimable as it grows, never done before it is read.
@Suite struct StorePreparationTests {
    static let manifest = "\u{FEFF}a.jpg\r\n{broken\r\nb.jpg\n\n# comment\nsub/a.png\r{\"id\": \"../x\", \"uri\": \"/x.png\"}\nc.jpg\r\n"
        + (0..<17).map { "dir/n\($0).png" }.joined(separator: "\r\n") + "\n\n"

    /// Begins a job on `file` (the store only records the path it is given).
    static func begin(_ fixture: StoreFixture, file: URL, key: String? = nil, shard: Int = 2) throws -> JobRecord {
        let model = try fixture.model()
        let new = NewJob(modelId: model.id, classes: ["a"], options: JobSettings(shardSize: shard), idempotencyKey: key, items: [])
        let size = Int64(try Data(contentsOf: file).count)
        return try fixture.store.beginJob(new, digest: try Store.manifestDigest(new, file: file.path), manifestBytes: size) { _ in file.path }.job
    }

    /// Reads `batch` lines at a time from where the job stopped, dropping the store's cursor (as a restart does:
    /// the next batch reads the manifest again up to there) every `reopenEvery` batches; returns the outcomes.
    static func prepare(_ fixture: StoreFixture, _ jobId: String, batch: Int, reopenEvery: Int = 2) throws -> [Store.PreparationOutcome] {
        var outcomes: [Store.PreparationOutcome] = []
        while outcomes.last == nil || outcomes.last == .more {
            fixture.store.cursors.remove(jobId)
            for _ in 0..<reopenEvery {
                outcomes.append(try fixture.store.prepareBatch(jobId, lines: batch))
                if outcomes.last != .more { break }
            }
        }
        return outcomes
    }

    @Test(arguments: [1, 3, 4, 50])
    func batchesFromAnyRestartMakeTheSameJobAsOneTransaction(batch: Int) throws {
        let fixture = try StoreFixture()
        let file = fixture.directory.appendingPathComponent("manifest.txt")
        try FileManager.default.createDirectory(at: fixture.directory, withIntermediateDirectories: true)
        try Data(Self.manifest.utf8).write(to: file)
        let model = try fixture.model()
        let whole = try fixture.store.createJob(NewJob(modelId: model.id, classes: ["a"], options: JobSettings(shardSize: 2), items: []),
                                                manifestFile: file.path).job

        let job = try Self.begin(fixture, file: file)
        #expect(job.state == .preparing && job.imageCount == 0 && job.manifestPath == file.path)
        let outcomes = try Self.prepare(fixture, job.id, batch: batch)
        #expect(outcomes.last == .prepared(.queued, claimable: 0))
        let prepared = try #require(try fixture.store.job(job.id))
        #expect(prepared.state == .queued && prepared.manifestPath == file.path, "kept: its tasks name lines of it")
        #expect((prepared.imageCount, prepared.taskCount, prepared.preparedRejected) == (whole.imageCount, whole.taskCount, 3))
        let expected = try fixture.store.results(jobId: whole.id), actual = try fixture.store.results(jobId: job.id)
        #expect(actual.map(\.id) == expected.map(\.id))
        #expect(actual.map(\.state) == expected.map(\.state))
        #expect(actual.map(\.error) == expected.map(\.error), "line numbers survive every restart")
        let progress = try fixture.store.progress(job.id)
        #expect(progress.images.pending == whole.imageCount - 3 && progress.images.failed == 3)
        #expect(try fixture.kinds(job.id).filter { $0.hasPrefix("job.") } == ["job.created", "job.prepared"])
    }

    /// Tasks made after the embeddings are claimable at once; a task claimed and completed while the job is
    /// preparing does not end the job, which runs once its manifest is read and ends when its images are.
    @Test func aPreparingJobIsClaimableButNeverDoneEarly() throws {
        let fixture = try StoreFixture()
        let file = fixture.directory.appendingPathComponent("manifest.txt")
        try FileManager.default.createDirectory(at: fixture.directory, withIntermediateDirectories: true)
        try Data((0..<6).map { "/d/i\($0).png" }.joined(separator: "\n").utf8).write(to: file)
        let job = try Self.begin(fixture, file: file)
        #expect(try fixture.store.prepareBatch(job.id, lines: 2) == .more)
        #expect(try fixture.store.claim(worker: "w1") == nil, "no embeddings yet")
        try fixture.store.setEmbeddings(jobId: job.id, sha256: StoreFixture.embeddingsSHA)
        let claimed = try #require(try fixture.store.claim(worker: "w1"))
        for image in claimed.images {
            try fixture.store.recordLabel(taskId: claimed.taskId, token: claimed.token, imageId: image.id, label: StoreFixture.label(image: image.id))
        }
        try fixture.store.complete(taskId: claimed.taskId, token: claimed.token)
        #expect(try fixture.store.job(job.id)?.state == .preparing, "every image so far is done, but more are coming")

        let outcome = try fixture.store.prepareBatch(job.id, lines: 10)
        #expect(outcome == .prepared(.running, claimable: 3))
        while let task = try fixture.store.claim(worker: "w1") {
            for image in task.images {
                try fixture.store.recordLabel(taskId: task.taskId, token: task.token, imageId: image.id, label: StoreFixture.label(image: image.id))
            }
            try fixture.store.complete(taskId: task.taskId, token: task.token)
        }
        #expect(try fixture.store.job(job.id)?.state == .done)
    }

    /// A task read from a manifest costs no image rows until it is first leased; a job that fails before its other
    /// tasks were leased fails their images by count (listed with the job's reason), and a retry queues them again.
    @Test func imagesGetRowsAtTheirTasksFirstLease() throws {
        let fixture = try StoreFixture()
        let file = fixture.directory.appendingPathComponent("manifest.txt")
        try FileManager.default.createDirectory(at: fixture.directory, withIntermediateDirectories: true)
        try Data("/d/i0.png\n/d/i1.png\n{broken\n/d/i2.png\n/d/i3.png\n/d/i4.png\n/d/i5.png\n".utf8).write(to: file)
        let job = try Self.begin(fixture, file: file)
        #expect(try Self.prepare(fixture, job.id, batch: 50).last == .prepared(.queued, claimable: 0))
        func rows() throws -> Int {
            try fixture.store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM images WHERE job_id = ?", arguments: [job.id]) ?? -1 }
        }
        #expect(try rows() == 1, "only the refused line has a row")
        try fixture.store.setEmbeddings(jobId: job.id, sha256: StoreFixture.embeddingsSHA)
        let claimed = try #require(try fixture.store.claim(worker: "w1"))
        #expect(claimed.images.map(\.id) == ["i0", "i1"] && claimed.images.first?.uri == "/d/i0.png")
        #expect(try rows() == 3)
        let listed = try fixture.store.results(jobId: job.id)
        #expect(listed.map(\.id) == ["i0", "i1", "#3", "i2", "i3", "i4", "i5"])
        #expect(listed.map(\.state) == [.running, .running, .failed, .pending, .pending, .pending, .pending])
        #expect(try fixture.store.results(jobId: job.id, from: 4, count: 2).map(\.id) == ["i2", "i3"], "a page is lines from..<from + count")

        try fixture.store.failJob(job.id, reason: "the model is broken")
        let failed = try fixture.store.progress(job.id)
        #expect((failed.images.failed, failed.images.pending, failed.images.running) == (7, 0, 0))
        let afterFailure = try fixture.store.results(jobId: job.id)
        #expect(afterFailure.allSatisfy { $0.state == .failed })
        #expect(afterFailure.last?.error == "the job failed: the model is broken")
        #expect(try rows() == 3, "never-leased images fail without rows")

        #expect(try fixture.store.retryFailed(job.id) == 6, "all but the refused line")
        #expect(try fixture.store.progress(job.id).images.pending == 6)
        var labeled: [String] = []
        while let task = try fixture.store.claim(worker: "w1") {
            for image in task.images {
                try fixture.store.recordLabel(taskId: task.taskId, token: task.token, imageId: image.id, label: StoreFixture.label(image: image.id))
                labeled.append(image.id)
            }
            try fixture.store.complete(taskId: task.taskId, token: task.token)
        }
        #expect(labeled.sorted() == ["i0", "i1", "i2", "i3", "i4", "i5"])
        #expect(try fixture.store.job(job.id)?.state == .done && rows() == 7)
    }

    @Test func aManifestWithoutAUsableLineFailsTheJobWithTheFirstReason() throws {
        let fixture = try StoreFixture()
        let file = fixture.directory.appendingPathComponent("manifest.txt")
        try FileManager.default.createDirectory(at: fixture.directory, withIntermediateDirectories: true)
        try Data("{broken\n{\"id\": \"../x\", \"uri\": \"/x.png\"}\n".utf8).write(to: file)
        let job = try Self.begin(fixture, file: file)
        #expect(try Self.prepare(fixture, job.id, batch: 1).last == .prepared(.failed, claimable: 0))
        let failed = try #require(try fixture.store.job(job.id))
        #expect(failed.state == .failed && failed.failure == "the job has no usable images (the first: manifest line 1: not valid JSON)")
    }

    @Test func aCancelledOrDeletedJobStopsItsPreparation() throws {
        let fixture = try StoreFixture()
        let file = fixture.directory.appendingPathComponent("manifest.txt")
        try FileManager.default.createDirectory(at: fixture.directory, withIntermediateDirectories: true)
        try Data(Self.manifest.utf8).write(to: file)
        let job = try Self.begin(fixture, file: file)
        #expect(try fixture.store.prepareBatch(job.id, lines: 1) == .more)
        try fixture.store.cancelJob(job.id, reason: "changed my mind")
        #expect(try fixture.store.prepareBatch(job.id, lines: 1) == .stopped)
        #expect(try fixture.store.job(job.id)?.imageCount == 1)
        _ = try fixture.store.deleteJob(job.id)
        #expect(try fixture.store.prepareBatch(job.id, lines: 1) == .stopped)
    }

    /// A key used again while the first request's job is being prepared gets that job, never a second one.
    @Test func anIdempotencyKeyFindsAJobWhilePreparing() throws {
        let fixture = try StoreFixture()
        let file = fixture.directory.appendingPathComponent("manifest.txt")
        try FileManager.default.createDirectory(at: fixture.directory, withIntermediateDirectories: true)
        try Data(Self.manifest.utf8).write(to: file)
        let first = try Self.begin(fixture, file: file, key: "k")
        var took = false
        let model = try fixture.model()
        let new = NewJob(modelId: model.id, classes: ["a"], options: JobSettings(shardSize: 2), idempotencyKey: "k", items: [])
        let again = try fixture.store.beginJob(new, digest: try Store.manifestDigest(new, file: file.path), manifestBytes: 1) { _ in
            took = true
            return "elsewhere"
        }
        #expect(!again.created && again.job.id == first.id && !took, "the second request takes no manifest")
    }

    /// Embeddings open a large job's tasks a few thousand a transaction, each picking up after the last.
    @Test func tasksOpenInSteps() throws {
        let fixture = try StoreFixture()
        let job = try fixture.job(images: 10, shardSize: 2, ready: false)
        var opening = try fixture.store.pool.write { db in
            try fixture.store.setEmbeddings(db, jobId: job.id, sha256: StoreFixture.embeddingsSHA, limit: 2)
        }
        var steps = [opening.opened]
        while let after = opening.after {
            opening = try fixture.store.pool.write { db in try fixture.store.openTasks(db, jobId: job.id, after: after, limit: 2) }
            steps.append(opening.opened)
        }
        #expect(steps == [2, 2, 1])
        var claimed = 0
        while try fixture.store.claim(worker: "w") != nil { claimed += 1 }
        #expect(claimed == 5)
    }
}
