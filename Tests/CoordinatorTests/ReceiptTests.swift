import Foundation
import Inference
import LabelAPI
import LabelClient
import Support
import TestSupport
import Testing

/// Receipts (docs/STORAGE.md) from a token holder who would point them elsewhere: the coordinator takes only a
/// receipt whose key is the image's own, whose size and class counts can be a label map of the image, and whose
/// confidence digest matches what the job saves; a job with an output takes no uploads, and one without takes no
/// receipts. The labels it records are served as where they are, never read from the coordinator's disk.
@Suite struct ReceiptTests {
    @Test func aReceiptIsTakenOnlyForTheImagesOwnKeyAndAPossibleMap() async throws {
        let live = try await LiveCoordinator.start(imageRoot: LiveCoordinator.images)
        defer { live.stop() }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("receipts-\(UUID().uuidString)")
        var settings = JobSettings(shortSide: 48, shardSize: 2, leaseSeconds: 120)
        settings.output = "file://" + folder.path  // no final /: the coordinator adds it
        let job = try await live.submit("{\"id\": \"a.v2\", \"uri\": \"img_a.png\"}", settings: settings)
        #expect(try await live.admin.job(job).settings.output == "file://\(folder.path)/")
        let task = try #require(try await live.worker.claim(ClaimRequest(worker: "w1")))
        #expect(task.settings.output == "file://\(folder.path)/")
        let image = try ImageCodec.read(contentsOf: LiveCoordinator.images.appendingPathComponent("img_a.png").path)
        let (width, height) = (image.width, image.height)
        let map = LabelMap(width: width, height: height, indices: [UInt8](repeating: 1, count: width * height))
        let png = try ImageCodec.encodeLabelPNG(map)
        func receipt(key: String = "labels/a.v2.png", width: Int = width, height: Int = height,
                     classes: [ClassPixels] = ClassPixels.count(map.indices), confidence: String? = nil) -> LabelReceipt {
            LabelReceipt(leaseToken: task.leaseToken, key: key, sha256: SHA256Hex.of(png), bytes: Int64(png.count), width: width,
                         height: height, classes: classes, confidenceSHA256: confidence)
        }
        func send(_ receipt: LabelReceipt) async throws { try await live.worker.sendReceipt(task: task.taskId, image: "a.v2", receipt: receipt) }

        // Elsewhere: another image's key, a path out of the layout.
        await expectStatus(422, containing: "the label of a.v2 goes to labels/a.v2.png") { try await send(receipt(key: "labels/other.png")) }
        await expectStatus(422, containing: "goes to labels/a.v2.png") { try await send(receipt(key: "../../etc/passwd")) }
        // Not a label map of this image: another size (the coordinator serves the image, so it knows), a value that
        // is no class, counts that do not add up, a confidence digest in a job that saves none.
        await expectStatus(422, containing: "is \(width)x\(height)") {
            try await send(receipt(width: 1, height: 1, classes: [ClassPixels(class: 1, pixels: 1)]))
        }
        await expectStatus(422, containing: "label value 7 is not a class index") {
            try await send(receipt(classes: [ClassPixels(class: 7, pixels: Int64(width * height))]))
        }
        await expectStatus(422, containing: "add up to 5 pixels") { try await send(receipt(classes: [ClassPixels(class: 1, pixels: 5)])) }
        await expectStatus(422, containing: "saves no confidence maps") { try await send(receipt(confidence: SHA256Hex.of([1]))) }
        // A label upload to a job whose labels live in its output is refused with where they go.
        await expectStatus(400, containing: "keeps its labels in file://\(folder.path)/") {
            try await live.worker.uploadLabel(task: task.taskId, image: "a.v2", token: task.leaseToken, png: png, width: width, height: height)
        }
        #expect(try await live.admin.job(job).images.done == 0)

        try await send(receipt())
        try await send(receipt())  // the same receipt again changes nothing
        await expectStatus(409, containing: "already has label") {
            try await send(LabelReceipt(leaseToken: task.leaseToken, key: "labels/a.v2.png", sha256: String(repeating: "0", count: 64),
                                        bytes: 9, width: width, height: height, classes: ClassPixels.count(map.indices)))
        }
        let status = try await live.admin.job(job)
        #expect(status.images.done == 1)
        // Where the label is, in the results and in the answer to a read of it; nothing under the data directory.
        let line = try #require(try await live.admin.results(job).first)
        #expect(line.label == "file://\(folder.path)/labels/a.v2.png" && line.sha256 == SHA256Hex.of(png))
        await expectStatus(409, containing: "file://\(folder.path)/labels/a.v2.png") { _ = try await live.admin.labelPNG(job: job, image: "a.v2") }
        #expect(!FileManager.default.fileExists(atPath: live.dataDirectory.appendingPathComponent("labels/\(job)").path))

        // A job without an output takes no receipts.
        let plain = try await live.submit("img_b.jpg")
        let other = try #require(try await live.worker.claim(ClaimRequest(worker: "w2")))
        #expect(other.jobId == plain)
        await expectStatus(400, containing: "has no output") {
            try await live.worker.sendReceipt(task: other.taskId, image: other.images[0].id, receipt: LabelReceipt(
                leaseToken: other.leaseToken, key: "labels/\(other.images[0].id).png", sha256: SHA256Hex.of(png), bytes: 1,
                width: 1, height: 1, classes: [ClassPixels(class: 0, pixels: 1)]))
        }
    }

    @Test func anOutputThatIsNoFolderOrPrefixIsRefusedAtSubmit() async throws {
        for (output, why) in [("http://bucket/x/", "labels go to S3 or a shared folder"), ("file://relative/x", "absolute folder"),
                              ("s3://B/x/", "is not a bucket name"), ("file:///data/../etc/", ". or .. part"), ("s3://bucket/a//b/", "empty")] {
            #expect(throws: SettingError.self, "\(output)") { try OutputLocation(output) }
            do { _ = try OutputLocation(output) } catch { #expect(error.description.contains(why), "\(output): \(error)") }
        }
        #expect(try OutputLocation("s3://bucket").description == "s3://bucket/")
        #expect(try OutputLocation("s3://bucket/run.1/").uri(of: "labels/x.v2.png") == "s3://bucket/run.1/labels/x.v2.png")
        #expect(OutputLocation.keys(id: "part-0_k.v2", uri: "s3://in/part-0.tar#k.v2", tarShards: true)
                == ("shards/part-0.tar#k.v2.label.png", "shards/part-0.tar#k.v2.conf.png"))
        #expect(OutputLocation.split("shards/part-0.tar#k.v2.label.png") == ("shards/part-0.tar", "k.v2.label.png"))
    }
}
