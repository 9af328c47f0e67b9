import Foundation
import Inference
import LabelAPI
import LabelClient
import TestSupport
import Testing

/// `labelmill export` in every format, from a real coordinator, read back by each format's own consumer
/// (scripts/check-exports: pycocotools, label-studio-sdk, datumaro, datasets). The label maps are uploaded by the
/// test acting as a worker, so they hold what a real job may hold and the model rarely gives: void pixels, classes
/// absent from an image, a 1×1 image, ids with accents, a JPEG next to PNGs.
@Suite(.serialized)
struct ExportEndToEndTests {
    static let classes = FaultCluster.classes.split(separator: ",").map(String.init)

    @Test(.timeLimit(.minutes(3)))
    func everyFormatReadsBackAsTheJobsLabelMaps() async throws {
        let cluster = try FaultCluster("exports", imageCount: 1)
        defer { cluster.shutdown() }
        try await cluster.startCoordinator()

        let jpeg = LiveCoordinator.images.appendingPathComponent("img_b.jpg")
        let (jpegWidth, jpegHeight) = try ImageCodec.dimensions([UInt8](Data(contentsOf: jpeg)))
        let maps: [(id: String, map: LabelMap)] = [
            ("été_1", LabelMap(width: 3, height: 4, indices: [0, 0, 1, 0, 2, 1, 255, 2, 2, 255, 255, 1])),
            ("one-pixel", LabelMap(width: 1, height: 1, indices: [4])),
            ("photo", LabelMap(width: jpegWidth, height: jpegHeight, indices: (0..<jpegWidth * jpegHeight).map { UInt8($0 / 97 % 3) })),
        ]
        var lines: [String] = []
        for (id, map) in maps {
            // One image is a relative path, served by the coordinator from its --image-root: export reads it through
            // the coordinator too (rough edges, item 1: it was left out as "a relative path").
            let relative = id == "one-pixel" ? "sub/\(id).png" : nil
            let file = relative.map { cluster.imageRoot.appendingPathComponent($0) }
                ?? cluster.directory.appendingPathComponent("photos/\(id).\(id == "photo" ? "jpg" : "png")")
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            if id == "photo" {
                try FileManager.default.copyItem(at: jpeg, to: file)
            } else {  // any picture of the map's size will do
                try Data(ImageCodec.encodeLabelPNG(map)).write(to: file)
            }
            lines.append(String(decoding: try JSONEncoder().encode(["id": id, "uri": relative ?? file.path]), as: UTF8.self))
        }
        let manifest = cluster.directory.appendingPathComponent("exports.jsonl")
        try lines.joined(separator: "\n").write(to: manifest, atomically: true, encoding: .utf8)
        let auth = ["--coordinator", cluster.url, "--token-file", cluster.tokenFile]
        _ = try await LabelmillProcess.run(["model", "add"] + auth + ["--name", "tiny", LiveCoordinator.tinyModel.path])
        let submitted = try await LabelmillProcess.run(["submit"] + auth + ["--model", "tiny", "--manifest", manifest.path,
                                                                            "--classes", FaultCluster.classes, "--json"])
        let job = try #require(try JSONDecoder().decode([String: String].self, from: Data(submitted.utf8))["id"])
        try await cluster.waitUntil("the class embeddings are ready") { (try? await cluster.admin.job(job).embeddingsReady) ?? false }

        // The test is the worker: one task with the three images, each answered with its map.
        let task = try #require(try await cluster.admin.claim(ClaimRequest(worker: "export-test")))
        for image in task.images {
            let map = try #require(maps.first { $0.id == image.id }?.map)
            try await cluster.admin.uploadLabel(task: task.taskId, image: image.id, token: task.leaseToken,
                                                png: try ImageCodec.encodeLabelPNG(map), width: map.width, height: map.height)
        }
        try await cluster.admin.complete(task: task.taskId, token: task.leaseToken)
        #expect(try await cluster.admin.job(job).state == .done)

        var arguments: [String] = []
        for format in ExportFormat.allCases {
            let out = cluster.directory.appendingPathComponent("export-\(format.rawValue)")
            let result = try await LabelmillProcess.runToEnd(["export"] + auth + [job, "--format", format.rawValue, "--out", out.path])
            #expect(result.status == 0, "export --format \(format.rawValue): \(result.errors)")
            #expect(result.output.contains("exported 3 label maps (\(format.rawValue))"), "\(result.output)")
            if format != .labelmill { arguments.append("\(format.rawValue)=\(out.path)") }
        }
        // The labelmill layout is byte for byte what was uploaded.
        for (id, map) in maps {
            let exported = try Data(contentsOf: cluster.directory.appendingPathComponent("export-labelmill/labels/\(id).png"))
            #expect([UInt8](exported) == (try ImageCodec.encodeLabelPNG(map)))
        }

        guard let python = S3TestServer.python else {
            print("ExportEndToEndTests: consumer checks skipped: no Python with the consumers (run scripts/test-python)")
            return
        }
        let (status, text) = try await S3TestServer.runScript(
            python, "check-exports", [cluster.directory.appendingPathComponent("export-labelmill").path] + arguments)
        #expect(status == 0, "\(text)")
        for format in ExportFormat.allCases where format != .labelmill {
            #expect(text.contains("check-exports: \(format.rawValue): 3 label maps equal the job's (3 void pixels)"), "\(text)")
        }
    }
}
