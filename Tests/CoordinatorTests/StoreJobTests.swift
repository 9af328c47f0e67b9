import Foundation
import GRDB
import LabelAPI
import Testing

import Coordinator

@Suite struct StoreJobTests {
    @Test func createJobShardsImagesIntoConsecutiveTasks() throws {
        let fixture = try StoreFixture()
        let job = try fixture.job(images: 10, shardSize: 4, ready: false)
        #expect(job.id.hasPrefix("job-") && job.id.count == 24)
        #expect(job.state == .queued)
        #expect(job.imageCount == 10 && job.taskCount == 3)
        #expect(job.classes == ["cat", "dog"])
        #expect(job.options.shardSize == 4)
        #expect(job.createdAt == fixture.clock.now)
        #expect(job.embeddingsSHA256 == nil && job.startedAt == nil && job.finishedAt == nil)

        let shards = try fixture.store.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT task_id, group_concat(id) AS ids FROM images GROUP BY task_id ORDER BY task_id")
                .map { $0["ids"] as String }
        }
        #expect(shards == ["img0,img1,img2,img3", "img4,img5,img6,img7", "img8,img9"])
        #expect(try fixture.store.results(jobId: job.id).map(\.id) == (0..<10).map { "img\($0)" })
        #expect(try fixture.kinds(job.id) == ["job.created", "job.prepared"])
        let progress = try fixture.store.progress(job.id)
        #expect(progress.images.pending == 10 && progress.tasks.queued == 3)
    }

    @Test func jobsAreReadBackAndListedNewestFirst() throws {
        let fixture = try StoreFixture()
        let first = try fixture.job(ready: false)
        fixture.clock.advance(1)
        let second = try fixture.job(ready: false)
        #expect(try fixture.store.job(first.id) == first)
        #expect(try fixture.store.job("job-missing") == nil)
        #expect(try fixture.store.jobs().map(\.id) == [second.id, first.id])
        #expect(try fixture.store.jobs(limit: 1).map(\.id) == [second.id])
        #expect(first.id < second.id)
    }

    @Test func idempotencyKeyReturnsTheSameJobOrConflicts() throws {
        let fixture = try StoreFixture()
        let model = try fixture.model()
        let new = NewJob(name: "n", modelId: model.id, classes: ["a"], idempotencyKey: "key-1", items: StoreFixture.items(3))
        let first = try fixture.store.createJob(new)
        #expect(first.created)
        fixture.clock.advance(5)
        let again = try fixture.store.createJob(new)
        #expect(!again.created)
        #expect(again.job == first.job)
        var different = new
        different.items = StoreFixture.items(4)
        #expect(storeErrorCode { _ = try fixture.store.createJob(different) } == .conflict)
        different = new
        different.options.shardSize = 1
        #expect(storeErrorCode { _ = try fixture.store.createJob(different) } == .conflict)
        #expect(try fixture.store.jobs().count == 1)
        different.idempotencyKey = "key-2"
        #expect(try fixture.store.createJob(different).created)
    }

    @Test func createJobValidatesItsInput() throws {
        let fixture = try StoreFixture()
        let model = try fixture.model()
        func code(_ change: (inout NewJob) -> Void) -> StoreError.Code? {
            var new = NewJob(modelId: model.id, classes: ["a"], items: StoreFixture.items(2))
            change(&new)
            return storeErrorCode { _ = try fixture.store.createJob(new) }
        }
        #expect(code { _ in } == nil)
        #expect(code { $0.items = [] } == .invalid)
        #expect(code { $0.classes = [] } == .invalid)
        #expect(code { $0.classes = ["a", "a"] } == .invalid)
        #expect(code { $0.options.shardSize = 0 } == .invalid)
        #expect(code { $0.options.maxAttempts = 0 } == .invalid)
        #expect(code { $0.options.leaseSeconds = 0 } == .invalid)
        #expect(code { $0.modelId = "no-such-model" } == .invalid)
        #expect(code { $0.items = [ManifestItem(id: "../x", uri: "u", line: 7)] } == .invalid)
        // A repeated id is the store's to catch when images stream in: that image fails alone.
        #expect(code { $0.items = [ManifestItem(id: "a", uri: "u", line: 1), ManifestItem(id: "a", uri: "v", line: 2)] } == nil)
        let message = storeError {
            _ = try fixture.store.createJob(NewJob(modelId: model.id, classes: ["a"],
                                                   items: [ManifestItem(id: "../x", uri: "u", line: 7)]))
        }?.message
        #expect(message?.hasPrefix(#"manifest line 7: id "../x" is not a safe file name"#) == true)
    }

    @Test func rejectedLinesAreFailedFromTheStartAndNeverRetried() throws {
        let fixture = try StoreFixture()
        let model = try fixture.model()
        let items = try Manifest.parse("a.jpg\n{broken\nb.jpg\nc.jpg\n{\"id\": \"../x\", \"uri\": \"/x.png\"}")
        let job = try fixture.store.createJob(NewJob(modelId: model.id, classes: ["a"], options: JobSettings(shardSize: 2), items: items)).job
        #expect(job.imageCount == 5 && job.taskCount == 2)
        var progress = try fixture.store.progress(job.id)
        #expect(progress.images.failed == 2 && progress.images.pending == 3 && progress.tasks.queued == 2)
        let results = try fixture.store.results(jobId: job.id)
        #expect(results.map(\.id) == ["a", "#2", "b", "c", "../x"])
        #expect(results.map(\.state.rawValue) == ["pending", "failed", "pending", "pending", "failed"])
        #expect(results[1].error == "manifest line 2: not valid JSON")
        #expect(try fixture.kinds(job.id).filter { $0 == "image.failed" }.count == 2)

        try fixture.store.setEmbeddings(jobId: job.id, sha256: StoreFixture.embeddingsSHA)
        let first = try #require(try fixture.store.claim(worker: "w1"))
        #expect(first.images.map(\.id) == ["a", "b"])
        try fixture.store.complete(taskId: first.taskId, token: first.token)
        let second = try #require(try fixture.store.claim(worker: "w1"))
        #expect(second.images.map(\.id) == ["c"])
        try fixture.store.complete(taskId: second.taskId, token: second.token)
        #expect(try fixture.store.job(job.id)?.state == .done)
        // a, b and c failed for want of a label and are retried; the rejected lines are not.
        #expect(try fixture.store.retryFailed(job.id) == 3)
        progress = try fixture.store.progress(job.id)
        #expect(progress.images.pending == 3 && progress.images.failed == 2)
    }

    /// A manifest file streams in: same jobs as the parsed text, duplicates and bad lines failed alone.
    @Test func jobsFromAManifestFileMatchTheParsedText() throws {
        let fixture = try StoreFixture()
        let model = try fixture.model()
        let text = "\u{FEFF}a.jpg\r\n{broken\r\nb.jpg\n\n# comment\nsub/a.png\r{\"id\": \"../x\", \"uri\": \"/x.png\"}\nc.jpg"
        let file = fixture.directory.appendingPathComponent("manifest.txt")
        try Data(text.utf8).write(to: file)
        let fromText = try fixture.store.createJob(NewJob(modelId: model.id, classes: ["a"], options: JobSettings(shardSize: 2),
                                                          items: try Manifest.parse(text))).job
        let fromFile = try fixture.store.createJob(NewJob(modelId: model.id, classes: ["a"], options: JobSettings(shardSize: 2), items: []),
                                                   manifestFile: file.path).job
        #expect(fromFile.imageCount == 6 && fromFile.taskCount == 2)
        let expected = try fixture.store.results(jobId: fromText.id)
        let actual = try fixture.store.results(jobId: fromFile.id)
        #expect(actual.map(\.id) == ["a", "#2", "b", "#6", "../x", "c"])
        #expect(actual.map(\.id) == expected.map(\.id))
        #expect(actual.map(\.state) == expected.map(\.state))
        #expect(actual.map(\.error) == expected.map(\.error))
        #expect(actual[3].error == #"manifest line 6: id "a" duplicates line 1"#)

        // The same request twice under one key is one job, whichever way it came.
        let keyed = NewJob(modelId: model.id, classes: ["a"], idempotencyKey: "k", items: [])
        let first = try fixture.store.createJob(keyed, manifestFile: file.path)
        let again = try fixture.store.createJob(keyed, manifestFile: file.path)
        #expect(first.created && !again.created && first.job.id == again.job.id)
        try Data("only-this.jpg".utf8).write(to: file)
        #expect(storeErrorCode { _ = try fixture.store.createJob(keyed, manifestFile: file.path) } == .conflict)
    }

    @Test func jobsMayNameTheirModel() throws {
        let fixture = try StoreFixture()
        let model = try fixture.model()
        let job = try fixture.store.createJob(NewJob(modelId: "maskclip", classes: ["a"], items: StoreFixture.items(1))).job
        #expect(job.modelId == model.id)
    }

    @Test func optionsDecodeWithDefaults() throws {
        let options = try JSONDecoder().decode(JobSettings.self, from: Data(#"{"shardSize": 16}"#.utf8))
        #expect(options == JobSettings(shardSize: 16))
        #expect(options.templates == "maskclip85" && options.promptDenoise == 0.5 && options.leaseSeconds == 60)
    }

    @Test func setEmbeddingsIsIdempotentAndGuarded() throws {
        let fixture = try StoreFixture()
        let job = try fixture.job(ready: false)
        try fixture.store.setEmbeddings(jobId: job.id, sha256: StoreFixture.embeddingsSHA)
        try fixture.store.setEmbeddings(jobId: job.id, sha256: StoreFixture.embeddingsSHA)
        #expect(try fixture.store.job(job.id)?.embeddingsSHA256 == StoreFixture.embeddingsSHA)
        #expect(storeErrorCode { try fixture.store.setEmbeddings(jobId: job.id, sha256: String(repeating: "f", count: 64)) } == .conflict)
        #expect(storeErrorCode { try fixture.store.setEmbeddings(jobId: job.id, sha256: "short") } == .invalid)
        #expect(storeErrorCode { try fixture.store.setEmbeddings(jobId: "job-x", sha256: StoreFixture.embeddingsSHA) } == .notFound)
        #expect(try fixture.kinds(job.id) == ["job.created", "job.prepared", "job.embeddings"])
    }

    @Test func unknownJobsAreNotFound() throws {
        let fixture = try StoreFixture()
        #expect(storeErrorCode { _ = try fixture.store.progress("job-x") } == .notFound)
        #expect(storeErrorCode { _ = try fixture.store.results(jobId: "job-x") } == .notFound)
        #expect(storeErrorCode { _ = try fixture.store.events(jobId: "job-x") } == .notFound)
        #expect(storeErrorCode { try fixture.store.cancelJob("job-x", reason: "r") } == .notFound)
        #expect(storeErrorCode { _ = try fixture.store.retryFailed("job-x") } == .notFound)
    }
}
