import Coordinator
import Foundation
import Inference
import LabelAPI
import LabelClient
import Logging
import Support
import TestSupport
import Testing
import Worker

/// A worker (in this process) against a live coordinator: bad images fail alone, good ones match `label`.
@Suite struct WorkerLoopTests {
    @Test func workerLabelsAJobLikeLocalLabeling() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("images-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        for name in ["img_a.png", "img_b.jpg", "img_c.png"] {
            try FileManager.default.copyItem(at: LiveCoordinator.images.appendingPathComponent(name), to: root.appendingPathComponent(name))
        }
        try Data("not an image".utf8).write(to: root.appendingPathComponent("text.jpg"))
        let live = try await LiveCoordinator.start(imageRoot: root)
        defer { live.stop() }
        // Relative paths go through the coordinator's file route; an absolute one is read directly.
        let manifest = """
            {"id": "a", "uri": "img_a.png"}
            {"id": "café", "uri": "img_b.jpg"}
            {"id": "text", "uri": "text.jpg"}
            {"id": "missing", "uri": "nope.png"}
            {"id": "c", "uri": "\(root.appendingPathComponent("img_c.png").path)"}
            """
        let job = try await live.submit(manifest)
        let status = try await Self.runWorker(on: live, until: job)
        #expect(status.state == .done)
        #expect(status.images == JobStatus.Images(total: 5, pending: 0, running: 0, done: 3, failed: 2))

        let out = live.dataDirectory.appendingPathComponent("export")
        let summary = try await JobExport.run(client: live.admin, job: job, to: out)
        #expect(summary.labels == 3 && summary.results == 5)
        let results = try String(contentsOf: out.appendingPathComponent("results.jsonl"), encoding: .utf8).split(separator: "\n")
            .map { try JSONDecoder().decode(ImageResultLine.self, from: Data($0.utf8)) }
        #expect(results.map(\.status) == [.done, .done, .failed, .failed, .done])
        #expect(results[2].error?.contains("not a JPEG or PNG") == true)
        // In words, with the path as the manifest gave it (rough edges, item 9), not "/v1/files/nope.png: HTTP 404".
        #expect(results[3].error == "nope.png: no such file under the coordinator's --image-root", "\(results[3])")

        // Identical to labeling the same images locally with the same settings.
        let model = try CLIPModel(directory: LiveCoordinator.tinyModel)
        let classes = try ClassEmbeddings.compute(model: model, classNames: ["cat", "dog", "tree", "sky", "person"],
                                                  templates: .named("maskclip85"), modelSHA256: "")
        let local = try MaskCLIP(model: model, classes: classes, options: MaskCLIPOptions(shortSide: 48))
        for (id, file) in [("a", "img_a.png"), ("café", "img_b.jpg"), ("c", "img_c.png")] {
            let exported = try ImageCodec.decodeLabelPNG([UInt8](Data(contentsOf: out.appendingPathComponent("labels/\(id).png"))))
            #expect(try exported == local.label(ImageCodec.read(contentsOf: root.appendingPathComponent(file).path)), "\(id)")
        }
    }

    /// Runs an in-process worker against `live` until `job` is done (or 60 s pass), stops it, and gives the job's
    /// status.
    static func runWorker(on live: LiveCoordinator, until job: String) async throws -> JobStatus {
        var logger = Logger(label: "test.worker")
        logger.logLevel = .critical
        let stop = AtomicFlag()
        let worker = WorkerLoop(WorkerConfiguration(coordinatorURL: live.url, token: LiveCoordinator.workerToken, name: "inproc",
                                                    cacheDirectory: live.dataDirectory.appendingPathComponent("worker-cache"),
                                                    pollSeconds: 0.5), logger: logger)
        let running = Task { await worker.run(stop: stop) }
        var status = try await live.admin.job(job)
        for _ in 0..<600 where status.state != .done {
            try await Task.sleep(for: .milliseconds(100))
            status = try await live.admin.job(job)
        }
        stop.set()
        _ = await running.value
        return status
    }
}

/// An upload the coordinator refuses for good (here a label map over its size limit: 413) fails that image with the
/// coordinator's reason, and the job ends, instead of the lease running out and the task coming back again and again.
@Suite struct RefusedUploadTests {
    @Test(.timeLimit(.minutes(2)))
    func aRefusedUploadFailsItsImageWithTheReason() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("images-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: LiveCoordinator.images.appendingPathComponent("img_a.png"), to: root.appendingPathComponent("small.png"))
        // 1600 × 1600 of stripes: its label map's PNG is several kilobytes, over the 3000-byte limit below.
        let side = 1600
        let stripes = RGBImage(width: side, height: side, pixels: (0..<side * side * 3).map { UInt8(truncatingIfNeeded: ($0 / 3 % side) / 40 * 97) })
        try Data(try ImageCodec.encodeJPEG(stripes, quality: 90)).write(to: root.appendingPathComponent("big.jpg"))
        let live = try await LiveCoordinator.start(imageRoot: root, limits: 3000)
        defer { live.stop() }
        let job = try await live.submit(#"{"id": "small", "uri": "small.png"}"# + "\n" + #"{"id": "big", "uri": "big.jpg"}"#,
                                        settings: JobSettings(shortSide: 48, shardSize: 2, maxAttempts: 3, leaseSeconds: 30))
        let status = try await WorkerLoopTests.runWorker(on: live, until: job)
        #expect(status.state == .done && status.images.done == 1 && status.images.failed == 1, "\(status.images)")
        #expect(status.leaseExpiries == 0, "the task was not left to expire")
        let failure = try #require(status.recentErrors.first { $0.id == "big" })
        // The coordinator's own words, without the request it refused.
        #expect(failure.error == "the coordinator refused its upload: label maps are limited to 3000 bytes", "\(failure.error)")
    }
}
