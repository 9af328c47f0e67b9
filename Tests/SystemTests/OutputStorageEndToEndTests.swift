import Foundation
import LabelAPI
import LabelClient
import Support
import TestSupport
import Testing

/// Labels straight to storage (docs/STORAGE.md), with real processes against moto's S3 server: workers write the
/// label and confidence maps under the job's `--output` with their own credentials and send receipts; the
/// coordinator keeps none of the maps and holds no credentials; `labelmill verify` checks the bucket against the
/// receipts and names what is missing or differs; `labelmill export` reads the labels from the bucket.
@Suite(.serialized) struct OutputStorageEndToEndTests {
    static let output = "s3://out/run.1"

    /// Two workers on one host (a shared cache), seven images, one with dots in its id.
    @Test(.timeLimit(.minutes(3)), .enabled(if: S3TestServer.python != nil, "needs moto[server] from PyPI: run scripts/test-python"))
    func workersWriteLabelsToS3AndVerifyChecksTheReceipts() async throws {
        let reference = try await FaultReference.labels()
        let cluster = try FaultCluster("s3-output", imageCount: 6)
        defer { cluster.shutdown() }
        let s3 = try S3TestServer.start(bucket: "out", objects: [:], log: cluster.directory.appendingPathComponent("s3.log"))
        cluster.onShutdown { s3.stop() }
        let environment = s3.environment(home: cluster.directory.appendingPathComponent("home"))
        try await cluster.startCoordinator()
        try await cluster.submit(environment: environment, arguments: ["--output", Self.output, "--save-confidence"],
                                 extraLines: ["{\"id\": \"cat.v2.final\", \"uri\": \"img0.png\"}"])
        try cluster.startWorker("w1", environment: environment)
        try cluster.startWorker("w2", environment: environment)
        try await cluster.waitForJobEnd()

        let status = try await cluster.admin.job(cluster.job)
        #expect(status.state == .done && status.images.done == 7, "\(status.images) \(status.recentErrors)")
        #expect(status.settings.output == Self.output + "/")
        // Nothing of the maps on the coordinator: the thumbnails only (the gallery's).
        let data = cluster.dataDirectory
        #expect(!FileManager.default.fileExists(atPath: data.appendingPathComponent("labels/\(cluster.job)").path))
        #expect(!FileManager.default.fileExists(atPath: data.appendingPathComponent("confidence/\(cluster.job)").path))

        // Every label in the bucket, byte-identical to the fault-free run's (on the coordinator), where results.jsonl says.
        let client = S3Client(configuration: s3.configuration, http: HTTPClient())
        let expected = reference.filter { Int($0.key.dropFirst(3))! < 6 }.merging(["cat.v2.final": reference["img0"]!]) { $1 }
        var labels: [String: String] = [:]
        for line in try await cluster.admin.results(cluster.job) {
            #expect(line.label == "\(Self.output)/labels/\(line.id).png" && line.confidence == "\(Self.output)/confidence/\(line.id).png")
            let png = try await client.get(S3Location(bucket: "out", key: "run.1/labels/\(line.id).png"), maxBytes: 1 << 20)
            labels[line.id] = SHA256Hex.of(png)
            let confidence = try await client.get(S3Location(bucket: "out", key: "run.1/confidence/\(line.id).png"), maxBytes: 1 << 20)
            #expect(SHA256Hex.of(confidence) == line.confidenceSHA256)
        }
        #expect(labels == expected)
        await expectStatus(409, containing: "\(Self.output)/labels/img1.png") { _ = try await cluster.admin.labelPNG(job: cluster.job, image: "img1") }

        let auth = ["--coordinator", cluster.url, "--token-file", cluster.tokenFile]
        let verified = try await LabelmillProcess.runToEnd(["verify"] + auth + [cluster.job], environment: environment)
        #expect(verified.status == 0 && verified.output.contains("verified 7 label maps and 7 confidence maps in \(Self.output)/: all match"),
                "\(verified.output) \(verified.errors)")

        // export reads them from the bucket.
        let out = cluster.directory.appendingPathComponent("export")
        let exported = try await LabelmillProcess.runToEnd(["export"] + auth + [cluster.job, "--out", out.path], environment: environment)
        #expect(exported.status == 0, "\(exported.errors)")
        for (id, sha) in expected {
            #expect(try SHA256Hex.of(file: out.appendingPathComponent("labels/\(id).png").path) == sha, "\(id)")
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("confidence/\(id).png").path), "\(id)")
        }

        // One label overwritten, one confidence map deleted: verify names both, and exits 1.
        try await client.put(S3Location(bucket: "out", key: "run.1/labels/img1.png"), body: .bytes(Array("not it".utf8)),
                             sha256: SHA256Hex.of(Array("not it".utf8)), contentType: "image/png")
        var delete = ClientRequest(method: .delete, url: "\(s3.endpoint)/out/run.1/confidence/cat.v2.final.png",
                                 headers: ["x-amz-content-sha256": SHA256Hex.of([UInt8]())])
        delete.awsSignature = .init(accessKeyID: s3.accessKeyID, secretAccessKey: s3.secretAccessKey, region: "us-east-1")
        #expect(try await HTTPClient().send(delete).status == 204)
        let caught = try await LabelmillProcess.runToEnd(["verify"] + auth + [cluster.job], environment: environment)
        #expect(caught.status == 1)
        let lines = caught.output.split(separator: "\n")
        #expect(lines.count == 2, "\(caught.output)")
        #expect(lines.contains { $0.hasPrefix("img1: \(Self.output)/labels/img1.png: differs") }, "\(caught.output)")
        #expect(lines.contains { $0.hasPrefix("cat.v2.final: \(Self.output)/confidence/cat.v2.final.png: missing") && $0.contains("NoSuchKey") },
                "\(caught.output)")
        #expect(caught.errors.contains("2 of the 7 label maps and 7 confidence maps in \(Self.output)/ do not match their receipts"), "\(caught.errors)")
        // Without the credentials, verify says why it cannot read instead of calling the labels missing.
        let denied = try await LabelmillProcess.runToEnd(["verify"] + auth + [cluster.job],
                                                         environment: s3.environment(home: cluster.directory, secret: "wrong"))
        #expect(denied.status == 1 && denied.output.contains("unreadable") && denied.output.contains("SignatureDoesNotMatch"), "\(denied.output)")
    }

    /// A bucket the workers cannot write to fails each image with the storage's reason (and loses nothing else).
    @Test(.timeLimit(.minutes(3)), .enabled(if: S3TestServer.python != nil, "needs moto[server] from PyPI: run scripts/test-python"))
    func anOutputTheWorkersCannotWriteFailsTheImagesWithItsReason() async throws {
        let cluster = try FaultCluster("s3-output-refused", imageCount: 2)
        defer { cluster.shutdown() }
        let s3 = try S3TestServer.start(bucket: "out", objects: [:], log: cluster.directory.appendingPathComponent("s3.log"))
        cluster.onShutdown { s3.stop() }
        let environment = s3.environment(home: cluster.directory.appendingPathComponent("home"))
        try await cluster.startCoordinator()
        try await cluster.submit(environment: environment, arguments: ["--output", "s3://no-such-bucket/labels/"])
        try cluster.startWorker("w1", environment: environment)
        try await cluster.waitForJobEnd()
        let status = try await cluster.admin.job(cluster.job)
        #expect(status.images.failed == 2 && status.images.done == 0, "\(status.images)")
        #expect(status.recentErrors.allSatisfy { $0.error.hasPrefix("cannot write to the output: s3://no-such-bucket/labels/labels/") && $0.error.contains("NoSuchBucket") },
                "\(status.recentErrors)")
    }

    /// A folder every worker mounts (`file:///…`): the same layout, written atomically; verify and export read it.
    @Test(.timeLimit(.minutes(3))) func workersWriteLabelsToASharedFolder() async throws {
        let reference = try await FaultReference.labels()
        let cluster = try FaultCluster("folder-output", imageCount: 3)
        defer { cluster.shutdown() }
        let folder = cluster.directory.appendingPathComponent("shared/labels run")
        try await cluster.startCoordinator()
        try await cluster.submit(arguments: ["--output", "file://" + folder.path])
        try cluster.startWorker("w1")
        try await cluster.waitForJobEnd()
        #expect(try await cluster.admin.job(cluster.job).images.done == 3)
        for image in cluster.images {
            #expect(try SHA256Hex.of(file: folder.appendingPathComponent("labels/\(image.id).png").path) == reference[image.id], "\(image.id)")
        }
        // Nothing half-written is left beside them.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("labels").path).sorted()
                == ["img0.png", "img1.png", "img2.png"])

        let auth = ["--coordinator", cluster.url, "--token-file", cluster.tokenFile]
        let verified = try await LabelmillProcess.runToEnd(["verify"] + auth + [cluster.job])
        #expect(verified.status == 0 && verified.output.contains("verified 3 label maps in file://\(folder.path)/: all match"), "\(verified.output)")
        let out = cluster.directory.appendingPathComponent("export")
        _ = try await LabelmillProcess.run(["export"] + auth + [cluster.job, "--out", out.path])
        #expect(try SHA256Hex.of(file: out.appendingPathComponent("labels/img2.png").path) == reference["img2"])

        try FileManager.default.removeItem(at: folder.appendingPathComponent("labels/img2.png"))
        let caught = try await LabelmillProcess.runToEnd(["verify"] + auth + [cluster.job])
        #expect(caught.status == 1 && caught.output == "img2: file://\(folder.path)/labels/img2.png: missing (file://\(folder.path)/labels/img2.png: no such file)\n",
                "\(caught.output)")
    }
}
