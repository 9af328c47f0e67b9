import Coordinator
import Foundation
import Inference
import LabelAPI
import LabelClient
import Support
import TestSupport
import Testing

/// The HTTP API through the real libcurl client against a live coordinator on loopback.
@Suite struct APITests {
    static let images = LiveCoordinator.images
    static var manifest: String {
        ["img_a.png", "img_b.jpg", "img_c.png"].map { images.appendingPathComponent($0).path }.joined(separator: "\n")
    }

    @Test func tokensAreRequiredAndRolesEnforced() async throws {
        let live = try await LiveCoordinator.start()
        defer { live.stop() }
        let http = HTTPClient()
        #expect(try await http.send(ClientRequest(url: live.url + Routes.health.template)).status == 200)
        #expect(try await http.send(ClientRequest(url: live.url + Routes.ready.template)).status == 200)
        #expect(try await http.send(ClientRequest(url: live.url + Routes.metrics.template)).status == 401)
        #expect(try await http.send(ClientRequest(url: live.url + Routes.jobs.template)).status == 401)
        #expect(try await http.send(ClientRequest(url: live.url + Routes.jobs.template, headers: ["Authorization": "Bearer nope"])).status == 401)
        #expect(try await http.send(ClientRequest(url: live.url + Routes.jobs.template, headers: ["Authorization": "Bearer \(LiveCoordinator.adminToken)"])).status == 200)
        let forbidden = try await http.send(ClientRequest(url: live.url + Routes.jobs.template, headers: ["Authorization": "Bearer \(LiveCoordinator.workerToken)"]))
        #expect(forbidden.status == 403)
        #expect(forbidden.bodyText.contains("\"code\":\"forbidden\""))
    }

    @Test func leaseUploadAndFencing() async throws {
        let live = try await LiveCoordinator.start()
        defer { live.stop() }
        let job = try await live.submit(Self.manifest)
        let worker = live.worker
        let task = try #require(try await worker.claim(ClaimRequest(worker: "w1")))
        #expect(task.images.count == 2)
        #expect(task.classCount == 5)
        _ = try await worker.heartbeat(task: task.taskId, token: task.leaseToken)

        let image = try ImageCodec.read(contentsOf: task.images[0].uri)
        var map = LabelMap(width: image.width, height: image.height, indices: [UInt8](repeating: 3, count: image.width * image.height))
        let png = try ImageCodec.encodeLabelPNG(map)
        try await worker.uploadLabel(task: task.taskId, image: task.images[0].id, token: task.leaseToken, png: png, width: image.width, height: image.height)
        // The same result again is harmless.
        try await worker.uploadLabel(task: task.taskId, image: task.images[0].id, token: task.leaseToken, png: png, width: image.width, height: image.height)
        // A different result for a done image never overwrites it.
        map.indices[0] = 1
        await expectStatus(409) {
            try await worker.uploadLabel(task: task.taskId, image: task.images[0].id, token: task.leaseToken,
                                         png: try ImageCodec.encodeLabelPNG(map), width: image.width, height: image.height)
        }
        // Wrong size and out-of-range values are refused.
        let second = try ImageCodec.read(contentsOf: task.images[1].uri)
        await expectStatus(422) {
            try await worker.uploadLabel(task: task.taskId, image: task.images[1].id, token: task.leaseToken, png: png,
                                         width: second.width, height: second.height)
        }
        let tooHigh = LabelMap(width: second.width, height: second.height, indices: [UInt8](repeating: 5, count: second.width * second.height))
        await expectStatus(422) {
            try await worker.uploadLabel(task: task.taskId, image: task.images[1].id, token: task.leaseToken,
                                         png: try ImageCodec.encodeLabelPNG(tooHigh), width: second.width, height: second.height)
        }
        // A stale token is refused everywhere.
        await expectStatus(409) { _ = try await worker.heartbeat(task: task.taskId, token: "stale") }
        await expectStatus(409) { try await worker.complete(task: task.taskId, token: "stale") }

        try await worker.failImage(task: task.taskId, image: task.images[1].id, token: task.leaseToken, reason: "corrupt on purpose")
        try await worker.complete(task: task.taskId, token: task.leaseToken)
        let status = try await live.admin.job(job)
        #expect(status.images == JobStatus.Images(total: 3, pending: 1, running: 0, done: 1, failed: 1))
        #expect(status.state == .running)
        #expect(status.recentErrors.map(\.error) == ["corrupt on purpose"])
        let results = try await live.admin.results(job)
        #expect(results.map(\.status) == [.done, .failed, .pending])
        #expect(results[0].sha256 == SHA256Hex.of(png))
        #expect(try await live.admin.labelPNG(job: job, image: task.images[0].id) == png)

        // The same state in Prometheus form, readable with the worker token too.
        let metrics = try await HTTPClient().send(ClientRequest(url: live.url + Routes.metrics.template, headers: ["Authorization": "Bearer \(LiveCoordinator.workerToken)"]))
        #expect(metrics.status == 200)
        let lines = Set(metrics.bodyText.split(separator: "\n").map(String.init))
        for line in ["labelmill_images{state=\"done\"} 1.0", "labelmill_images{state=\"failed\"} 1.0", "labelmill_images{state=\"pending\"} 1.0",
                     "labelmill_tasks{state=\"done\"} 1.0", "labelmill_tasks{state=\"queued\"} 1.0", "labelmill_jobs{state=\"running\"} 1.0",
                     "labelmill_worker_images_total{worker=\"w1\"} 1", "labelmill_upload_bytes_total \(png.count)"] {
            #expect(lines.contains(line), "\(line)")
        }
        #expect(lines.contains { $0.hasPrefix("labelmill_http_request_duration_seconds_count{method=\"POST\",route=\"/v1/tasks/claim\",status=\"200\"}") })
    }

    /// An upload names its target by task and image id; one that is not an image of a current lease writes
    /// nothing anywhere, whatever the id spells.
    @Test func foreignUploadsWriteNothing() async throws {
        let live = try await LiveCoordinator.start()
        defer { live.stop() }
        _ = try await live.submit(Self.manifest)
        let worker = live.worker
        let task = try #require(try await worker.claim(ClaimRequest(worker: "w1")))
        let png = try ImageCodec.encodeLabelPNG(LabelMap(width: 2, height: 2, indices: [0, 1, 0, 1]))
        let escape = FileManager.default.temporaryDirectory.appendingPathComponent("escape-\(UUID().uuidString)")
        let traversal = String(repeating: "../", count: 12) + escape.path.dropFirst() + "/x"
        for image in [traversal, String(repeating: "x", count: 240), "not-in-this-task"] {
            await expectStatus(404) {
                try await worker.uploadLabel(task: task.taskId, image: image, token: task.leaseToken, png: png, width: 2, height: 2)
            }
        }
        await expectStatus(409) {
            try await worker.uploadLabel(task: task.taskId, image: task.images[0].id, token: "stale", png: png, width: 2, height: 2)
        }
        #expect(!FileManager.default.fileExists(atPath: escape.path))
        let labels = live.dataDirectory.appendingPathComponent("labels").path
        #expect((try? FileManager.default.subpathsOfDirectory(atPath: labels))?.filter { $0.hasSuffix(".png") } ?? [] == [])
    }

    /// A thumbnail is a JPEG of at most 512 pixels a side and 256 KiB, under a live lease; the gallery's and the
    /// jobs list's query parameters are numbers in range. Each refusal says why.
    @Test func thumbnailsAndQueriesAreRefusedWithReasons() async throws {
        let live = try await LiveCoordinator.start()
        defer { live.stop() }
        let job = try await live.submit(Self.manifest, settings: JobSettings(shortSide: 48, shardSize: 3, leaseSeconds: 120))
        let worker = live.worker
        let task = try #require(try await worker.claim(ClaimRequest(worker: "w1")))
        let image = task.images[0].id
        func picture(_ width: Int, _ height: Int) -> RGBImage {
            RGBImage(width: width, height: height, pixels: (0..<width * height * 3).map { UInt8(truncatingIfNeeded: $0 * 7) })
        }
        let upload = { (bytes: [UInt8], token: String) in
            try await worker.uploadThumbnail(task: task.taskId, image: image, token: token, jpeg: bytes)
        }
        await expectStatus(422, containing: "must be a JPEG") {
            try await upload(try ImageCodec.encodeLabelPNG(LabelMap(width: 2, height: 2, indices: [0, 1, 0, 1])), task.leaseToken)
        }
        await expectStatus(422, containing: "at most 512 pixels a side") { try await upload(try ImageCodec.encodeJPEG(picture(600, 40)), task.leaseToken) }
        await expectStatus(413) { try await upload([0xFF, 0xD8] + [UInt8](repeating: 0, count: 300 << 10), task.leaseToken) }
        await expectStatus(409) { try await upload(try ImageCodec.encodeJPEG(picture(64, 48)), "stale") }
        let http = HTTPClient(), admin: HTTPHeaders = ["Authorization": "Bearer \(LiveCoordinator.adminToken)"]
        let path = live.url + "/v1/jobs/\(job)/thumbnails/\(image)"
        #expect(try await http.send(ClientRequest(url: path, headers: admin)).status == 404, "nothing was stored")

        let jpeg = try ImageCodec.encodeJPEG(picture(64, 48))
        try await upload(jpeg, task.leaseToken)
        let stored = try await http.send(ClientRequest(url: path, headers: admin))
        #expect(stored.status == 200 && stored.body == jpeg,
                "HTTP \(stored.status), \(stored.body.count) bytes (sent \(jpeg.count)): \(stored.bodyText.prefix(300))")

        for (query, reason) in [("gallery?state=bogus", "state=bogus is not done or failed"),
                                ("gallery?class=256", "class=256 is not a whole number in 0...255"),
                                ("gallery?limit=0", "limit=0 is not a whole number in 1...200"),
                                ("gallery?limit=ten", "limit=ten is not a whole number"),
                                ("events?after=-1", "after=-1 is not a whole number ≥ 0")] {
            let response = try await http.send(ClientRequest(url: live.url + "/v1/jobs/\(job)/\(query)", headers: admin))
            #expect(response.status == 400 && response.bodyText.contains(reason), "\(query): \(response.bodyText)")
        }
        let offset = try await http.send(ClientRequest(url: live.url + "/v1/jobs?offset=-5", headers: admin))
        #expect(offset.status == 400 && offset.bodyText.contains("offset=-5 is not a whole number ≥ 0"), "\(offset.bodyText)")
    }

    /// Confidence maps: taken only in a job that saves them, only as an 8-bit single-channel PNG under a live lease;
    /// served back as sent, and deleted with the job.
    @Test func confidenceMapsAreStoredOnlyWhereAsked() async throws {
        let live = try await LiveCoordinator.start()
        defer { live.stop() }
        let worker = live.worker
        let map = try ConfidenceMap(width: 3, height: 2, values: [0, 40, 80, 120, 200, 255]).png()
        let plain = try await live.submit(Self.manifest, settings: JobSettings(shortSide: 48, shardSize: 3, leaseSeconds: 120))
        let first = try #require(try await worker.claim(ClaimRequest(worker: "w1")))
        #expect(first.jobId == plain)
        await expectStatus(400, containing: "does not save confidence maps (settings.saveConfidence)") {
            try await worker.uploadConfidence(task: first.taskId, image: first.images[0].id, token: first.leaseToken, png: map, width: 3, height: 2)
        }
        try await worker.release(task: first.taskId, token: first.leaseToken, reason: "test")
        _ = try await live.admin.cancel(plain)

        let saving = try await live.submit(Self.manifest, settings: JobSettings(shortSide: 48, saveConfidence: true, shardSize: 3, leaseSeconds: 120))
        let task = try #require(try await worker.claim(ClaimRequest(worker: "w1")))
        #expect(task.jobId == saving)
        let image = task.images[0].id
        let upload = { (bytes: [UInt8], token: String) in
            try await worker.uploadConfidence(task: task.taskId, image: image, token: token, png: bytes, width: 3, height: 2)
        }
        let label = try ImageCodec.encodeLabelPNG(LabelMap(width: 3, height: 2, indices: [0, 1, 2, 0, 1, 2]))
        // Its label is refused until its confidence map is there, of its size (rough edges, item 23).
        await expectStatus(422, containing: "saves confidence maps: upload the confidence map of \(image) (3x2) before its label") {
            try await worker.uploadLabel(task: task.taskId, image: image, token: task.leaseToken, png: label, width: 3, height: 2)
        }
        await expectStatus(422, containing: "the confidence map is 1x1, the source image is 3x2") {
            try await upload(try ConfidenceMap(width: 1, height: 1, values: [9]).png(), task.leaseToken)
        }
        await expectStatus(422, containing: "a confidence map must be an 8-bit grayscale PNG") {
            try await upload(try ImageCodec.encodeJPEG(RGBImage(width: 2, height: 2, pixels: [UInt8](repeating: 9, count: 12))), task.leaseToken)
        }
        await expectStatus(409) { try await upload(map, "stale") }
        let http = HTTPClient(), admin: HTTPHeaders = ["Authorization": "Bearer \(LiveCoordinator.adminToken)"]
        let path = live.url + "/v1/jobs/\(saving)/confidence/\(image)"
        #expect(try await http.send(ClientRequest(url: path, headers: admin)).status == 404, "nothing was stored")
        try await upload(map, task.leaseToken)
        let stored = try await http.send(ClientRequest(url: path, headers: admin))
        #expect(stored.status == 200 && stored.body == map && (stored.headers["Content-Type"] ?? "").hasPrefix("image/png"),
                "HTTP \(stored.status): \(stored.bodyText.prefix(200))")
        #expect(try await live.admin.confidencePNG(job: saving, image: image) == map)
        try await worker.uploadLabel(task: task.taskId, image: image, token: task.leaseToken, png: label, width: 3, height: 2)
        try await worker.release(task: task.taskId, token: task.leaseToken, reason: "test")
        _ = try await live.admin.cancel(saving)
        _ = try await live.admin.deleteJob(saving)
        #expect(try await http.send(ClientRequest(url: path, headers: admin)).status == 404, "deleted with its job")
        #expect(!FileManager.default.fileExists(atPath: live.dataDirectory.appendingPathComponent("confidence/\(saving)").path))
    }

    /// The served OpenAPI document needs no token, and every operation it lists is a route of this server: each
    /// answers something other than the router's "no such route" (unknown paths are 404, known paths with
    /// another method 405 or 404, both with the router's own message).
    @Test func openAPIDocumentListsOnlyLiveRoutes() async throws {
        let live = try await LiveCoordinator.start()
        defer { live.stop() }
        let http = HTTPClient()
        let served = try await http.send(ClientRequest(url: live.url + Routes.openAPI.template))
        #expect(served.status == 200)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(served.body)) as? [String: Any])
        #expect((document["openapi"] as? String)?.hasPrefix("3.") == true)
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        #expect(paths.count >= 20)

        let routerMiss = try await http.send(ClientRequest(url: live.url + "/v1/no-such-route", headers: ["Authorization": "Bearer \(LiveCoordinator.adminToken)"]))
        #expect(routerMiss.status == 404)
        var checked = 0
        for (template, operations) in paths {
            let path = template.replacingOccurrences(of: #"\{[^}]+\}"#, with: "1", options: .regularExpression)
            for method in operations.keys where ["get", "post", "put", "head", "delete"].contains(method) {
                let response = try await http.send(ClientRequest(
                    method: .init(rawValue: method.uppercased()), url: live.url + path,
                    headers: ["Authorization": "Bearer \(LiveCoordinator.adminToken)"], followRedirects: false))
                #expect(response.status != 405, "\(method) \(template)")
                #expect(response.status != 404 || response.bodyText != routerMiss.bodyText, "\(method) \(template) is not a route")
                checked += 1
            }
        }
        #expect(checked >= 25)
    }

    @Test func badSubmissionsAreRefusedWithReasons() async throws {
        let live = try await LiveCoordinator.start()
        defer { live.stop() }
        _ = try await live.admin.addModel(name: "tiny", directory: LiveCoordinator.tinyModel)
        func submit(_ manifest: String, model: String = "tiny", classes: [String] = ["a", "b"]) async throws {
            _ = try await live.admin.createJob(CreateJobRequest(name: nil, model: model, classes: classes, settings: JobSettings(),
                                                                idempotencyKey: nil, manifest: manifest))
        }
        await expectStatus(400, containing: "line 1") { try await submit("{\"id\": \"../b\", \"uri\": \"/y.png\"}\n{broken") }
        await expectStatus(400) { try await submit("") }
        await expectStatus(404) { try await submit("/x.png", model: "nope") }
        await expectStatus(400) { try await submit("/x.png", classes: ["a", "a"]) }
    }

    /// Bad lines among good ones fail alone, each with its line number in the results.
    @Test func badManifestLinesFailAloneWithTheirLineNumbers() async throws {
        let live = try await LiveCoordinator.start()
        defer { live.stop() }
        _ = try await live.admin.addModel(name: "tiny", directory: LiveCoordinator.tinyModel)
        let created = try await live.admin.createJob(CreateJobRequest(
            name: nil, model: "tiny", classes: ["a", "b"], settings: JobSettings(), idempotencyKey: nil,
            manifest: "/a/x.png\n{\"id\": \"../b\", \"uri\": \"/y.png\"}\n/b/x.png\n{oops"))
        #expect(created.images == 4 && created.tasks == 1)
        let results = try await live.admin.results(created.id)
        #expect(results.map(\.id) == ["x", "../b", "#3", "#4"])
        #expect(results.map(\.status) == [.pending, .failed, .failed, .failed])
        #expect(results[1].error?.hasPrefix("manifest line 2: id \"../b\" is not a safe file name") == true)
        #expect(results[2].error == "manifest line 3: id \"x\" duplicates line 1")
        #expect(results[3].error == "manifest line 4: not valid JSON")
    }

    /// A manifest uploaded as a stream makes the same job as one sent inline; an upload id is used once.
    @Test func streamedManifestUpload() async throws {
        let live = try await LiveCoordinator.start()
        defer { live.stop() }
        _ = try await live.admin.addModel(name: "tiny", directory: LiveCoordinator.tinyModel)
        let file = live.dataDirectory.deletingLastPathComponent().appendingPathComponent("manifest-\(UUID().uuidString).txt")
        defer { try? FileManager.default.removeItem(at: file) }
        try (Self.manifest + "\n{broken").write(to: file, atomically: true, encoding: .utf8)
        let upload = try await live.admin.uploadManifest(file: file.path)
        let created = try await live.admin.createJob(CreateJobRequest(name: nil, model: "tiny", classes: ["a", "b"], settings: JobSettings(),
                                                                      idempotencyKey: nil, manifestUpload: upload))
        #expect(created.images == 4 && created.tasks == 1)
        #expect(try await live.admin.results(created.id).map(\.status) == [.pending, .pending, .pending, .failed])
        await expectStatus(404) {
            _ = try await live.admin.createJob(CreateJobRequest(name: nil, model: "tiny", classes: ["a"], settings: JobSettings(),
                                                                idempotencyKey: nil, manifestUpload: upload))
        }
        await expectStatus(400) {
            _ = try await live.admin.createJob(CreateJobRequest(name: nil, model: "tiny", classes: ["a"], settings: JobSettings(),
                                                                idempotencyKey: nil, manifestUpload: "../../etc/passwd"))
        }
        await expectStatus(403) { _ = try await live.worker.uploadManifest(file: file.path) }
    }

    /// A create request sent again after its upload was used (a client that gave up waiting while a large job was
    /// created, and retried): with the idempotency key it gets the first job back; without one, a reason.
    @Test func aRetriedCreateGetsItsJobBackNotAnEmptyOne() async throws {
        let live = try await LiveCoordinator.start()
        defer { live.stop() }
        _ = try await live.admin.addModel(name: "tiny", directory: LiveCoordinator.tinyModel)
        let file = live.dataDirectory.deletingLastPathComponent().appendingPathComponent("manifest-\(UUID().uuidString).txt")
        defer { try? FileManager.default.removeItem(at: file) }
        try Self.manifest.write(to: file, atomically: true, encoding: .utf8)
        let upload = try await live.admin.uploadManifest(file: file.path)
        let request = CreateJobRequest(name: nil, model: "tiny", classes: ["a", "b"], settings: JobSettings(),
                                       idempotencyKey: "submit-retry-test", manifestUpload: upload)
        let admin = live.patientAdmin
        let first = try await admin.createJob(request)
        let again = try await admin.createJob(request)
        #expect(first.created && !again.created && again.id == first.id && again.images == 3)
        var withoutKey = request
        withoutKey.idempotencyKey = nil
        await expectStatus(404, containing: "another request already used it") { _ = try await live.admin.createJob(withoutKey) }
        #expect(try await live.admin.jobs().count == 1)
    }

    /// Bodies over the limits are refused with 413 and change nothing.
    @Test func oversizedBodiesAreRefused() async throws {
        let live = try await LiveCoordinator.start(limits: 4096)
        defer { live.stop() }
        let job = try await live.submit(Self.manifest)
        let big = String(repeating: "x", count: 8192)
        await expectStatus(413) {
            _ = try await live.admin.createJob(CreateJobRequest(name: big, model: "tiny", classes: ["a"], settings: JobSettings(),
                                                                idempotencyKey: nil, manifest: "/x.png"))
        }
        let file = live.dataDirectory.deletingLastPathComponent().appendingPathComponent("big-\(UUID().uuidString).txt")
        defer { try? FileManager.default.removeItem(at: file) }
        try (0..<400).map { "/images/\($0).png" }.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        await expectStatus(413) { _ = try await live.admin.uploadManifest(file: file.path) }
        let task = try #require(try await live.worker.claim(ClaimRequest(worker: "w1")))
        await expectStatus(413) {
            try await live.worker.uploadLabel(task: task.taskId, image: task.images[0].id, token: task.leaseToken,
                                              png: [UInt8](repeating: 0, count: 8192), width: 1, height: 1)
        }
        #expect(try await live.admin.jobs().map(\.id) == [job])
        #expect(try await live.admin.job(job).images.done == 0)
    }

    @Test func idempotentSubmitReturnsTheSameJob() async throws {
        let live = try await LiveCoordinator.start()
        defer { live.stop() }
        _ = try await live.admin.addModel(name: "tiny", directory: LiveCoordinator.tinyModel)
        let request = CreateJobRequest(name: nil, model: "tiny", classes: ["a", "b"], settings: JobSettings(), idempotencyKey: "k1",
                                       manifest: Self.manifest)
        let admin = live.patientAdmin
        let first = try await admin.createJob(request)
        let second = try await admin.createJob(request)
        #expect(first.id == second.id && first.created && !second.created)
    }
}
