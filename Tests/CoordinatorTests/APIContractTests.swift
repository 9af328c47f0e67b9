import Foundation
import Hummingbird
import HummingbirdTesting
import Inference
import LabelAPI
import LabelClient
import TestSupport
import Testing

/// `Routes` is the whole contract: the served OpenAPI document lists exactly its routes, every route enforces
/// its access level, and path parameters that cannot be image ids name no image.
@Suite struct APIContractTests {
    @Test func openAPIDocumentListsExactlyTheRoutes() async throws {
        let served = try await RoutedCoordinator.test { client in
            try await client.execute(uri: Routes.openAPI.template, method: .get) { Data(buffer: $0.body) }
        }
        let document = try #require(try JSONSerialization.jsonObject(with: served) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var documented = Set<String>()
        for (template, operations) in paths {
            for method in operations.keys where ["get", "post", "put", "head", "delete", "patch"].contains(method) {
                documented.insert("\(method.uppercased()) \(template)")
            }
        }
        let routes = Set(Routes.all.map { "\($0.method.rawValue) \($0.template.replacingOccurrences(of: "*}", with: "}"))" })
        #expect(documented == routes, "documented only: \(documented.subtracting(routes)); routes only: \(routes.subtracting(documented))")
    }

    /// Without a token only the open routes answer; the worker token reaches the worker routes and gets 403
    /// from the admin ones; the admin token reaches everything. The scheme name is case-insensitive.
    @Test func everyRouteEnforcesItsAccess() async throws {
        try await RoutedCoordinator.test { client in
            func status(_ route: Route, token: String?) async throws -> Int {
                let values = route.parameters.map { _ in "1" }
                let hasBody = route.method != .get && route.method != .head
                return try await client.execute(uri: route.path(values), method: .init(route.method.rawValue)!,
                                                headers: RoutedCoordinator.authorization(token), body: hasBody ? ByteBuffer() : nil) {
                    Int($0.status.code)
                }
            }
            for route in Routes.all {
                let anonymous = try await status(route, token: nil)
                let worker = try await status(route, token: LiveCoordinator.workerToken)
                let admin = try await status(route, token: LiveCoordinator.adminToken)
                switch route.access {
                case .open:
                    #expect(anonymous != 401 && anonymous != 403, "\(route): \(anonymous) without a token")
                case .worker:
                    #expect(anonymous == 401, "\(route): \(anonymous) without a token")
                    #expect(worker != 401 && worker != 403, "\(route): \(worker) with the worker token")
                case .admin:
                    #expect(anonymous == 401, "\(route): \(anonymous) without a token")
                    #expect(worker == 403, "\(route): \(worker) with the worker token")
                }
                #expect(admin != 401 && admin != 403, "\(route): \(admin) with the admin token")
            }
            let lowercase = try await client.execute(uri: Routes.jobs.template, method: .get,
                                                     headers: [.authorization: "bearer \(LiveCoordinator.adminToken)"]) { $0.status }
            #expect(lowercase == .ok)
        }
    }

    /// A NUL (or any character an id may not have) in a route's image id is 404: SQLite would otherwise read
    /// `img0%00garbage` as `img0`.
    @Test func anImageIdWithANulNamesNoImage() async throws {
        let live = try await LiveCoordinator.start()
        defer { live.stop() }
        let job = try await live.submit(APITests.manifest)
        let task = try #require(try await live.worker.claim(ClaimRequest(worker: "w1")))
        let id = task.images[0].id
        let image = try ImageCodec.read(contentsOf: task.images[0].uri)
        let png = try ImageCodec.encodeLabelPNG(LabelMap(width: image.width, height: image.height,
                                                         indices: [UInt8](repeating: 1, count: image.width * image.height)))
        try await live.worker.uploadLabel(task: task.taskId, image: id, token: task.leaseToken, png: png, width: image.width, height: image.height)
        #expect(try await live.admin.labelPNG(job: job, image: id) == png)
        await expectStatus(404) { _ = try await live.admin.labelPNG(job: job, image: id + "\0garbage") }
        await expectStatus(404) {
            try await live.worker.failImage(task: task.taskId, image: task.images[1].id + "\0zzz", token: task.leaseToken, reason: "no")
        }
        let results = try await live.admin.results(job)
        #expect(results.first { $0.id == task.images[1].id }?.status == .running)
    }

    /// A worker that restarts gets a new id but keeps its name: /metrics keeps one series per name.
    @Test func perWorkerMetricsAreKeyedByTheWorkersName() async throws {
        let live = try await LiveCoordinator.start()
        defer { live.stop() }
        _ = try await live.submit(APITests.manifest)
        for process in ["box3-aaaaaaaa", "box3-bbbbbbbb"] {
            let task = try #require(try await live.worker.claim(ClaimRequest(worker: process, name: "box3")))
            let image = try ImageCodec.read(contentsOf: task.images[0].uri)
            let png = try ImageCodec.encodeLabelPNG(LabelMap(width: image.width, height: image.height,
                                                             indices: [UInt8](repeating: 0, count: image.width * image.height)))
            try await live.worker.uploadLabel(task: task.taskId, image: task.images[0].id, token: task.leaseToken, png: png,
                                              width: image.width, height: image.height)
        }
        let metrics = try await HTTPClient().send(ClientRequest(url: live.url + Routes.metrics.template,
                                                              headers: ["Authorization": "Bearer \(LiveCoordinator.adminToken)"]))
        let series = metrics.bodyText.split(separator: "\n").filter { $0.hasPrefix("labelmill_worker_images_total{") }
        #expect(series == ["labelmill_worker_images_total{worker=\"box3\"} 2"])
    }

    /// The coordinator does not trust a worker's word for the size of an image it serves itself.
    @Test func theSizeOfAServedImageIsChecked() async throws {
        let live = try await LiveCoordinator.start(imageRoot: LiveCoordinator.images)
        defer { live.stop() }
        _ = try await live.submit("img_a.png")
        let task = try #require(try await live.worker.claim(ClaimRequest(worker: "w1")))
        #expect(task.images[0].uri.hasPrefix(Routes.filesPrefix))
        let image = try ImageCodec.read(contentsOf: LiveCoordinator.images.appendingPathComponent("img_a.png").path)
        let dot = try ImageCodec.encodeLabelPNG(LabelMap(width: 1, height: 1, indices: [0]))
        await expectStatus(422, containing: "is \(image.width)x\(image.height)") {
            try await live.worker.uploadLabel(task: task.taskId, image: task.images[0].id, token: task.leaseToken, png: dot, width: 1, height: 1)
        }
        let right = try ImageCodec.encodeLabelPNG(LabelMap(width: image.width, height: image.height,
                                                           indices: [UInt8](repeating: 2, count: image.width * image.height)))
        try await live.worker.uploadLabel(task: task.taskId, image: task.images[0].id, token: task.leaseToken, png: right,
                                          width: image.width, height: image.height)
    }

    /// Without --image-root a relative path cannot be read by anyone: its line fails at submit with the fix, and a
    /// manifest of nothing else is refused.
    @Test func relativePathsWithoutAnImageRootAreRefusedAtSubmit() async throws {
        let live = try await LiveCoordinator.start()
        defer { live.stop() }
        let image = LiveCoordinator.images.appendingPathComponent("img_a.png").path
        let job = try await live.submit("photos/a.png\n\(image)")
        let status = try await live.admin.job(job)
        #expect(status.images.failed == 1 && status.images.pending == 1)
        #expect(status.recentErrors.first?.error.contains("photos/a.png is a relative path, and this coordinator serves none") == true,
                "\(status.recentErrors)")
        await expectStatus(400, containing: "start it with --image-root DIR") {
            _ = try await live.submit("photos/a.png\nphotos/b.png")
        }
    }

    /// Deleting a job takes its label maps, class embeddings and ledger; a running job must be cancelled first; the
    /// model and other jobs stay.
    @Test func deletingAJobTakesItsDataAndLeavesTheRest() async throws {
        let live = try await LiveCoordinator.start(imageRoot: LiveCoordinator.images)
        defer { live.stop() }
        let job = try await live.submit("img_a.png")
        let other = try await live.submit("img_b.jpg", classes: ["cat", "dog"])
        await expectStatus(409, containing: "cancel it before deleting it") { _ = try await live.admin.deleteJob(job) }

        let task = try #require(try await live.worker.claim(ClaimRequest(worker: "w1")))
        #expect(task.jobId == job)
        let image = try ImageCodec.read(contentsOf: LiveCoordinator.images.appendingPathComponent("img_a.png").path)
        let png = try ImageCodec.encodeLabelPNG(LabelMap(width: image.width, height: image.height,
                                                         indices: [UInt8](repeating: 1, count: image.width * image.height)))
        try await live.worker.uploadLabel(task: task.taskId, image: task.images[0].id, token: task.leaseToken, png: png,
                                          width: image.width, height: image.height)
        try await live.worker.complete(task: task.taskId, token: task.leaseToken)
        #expect(try await live.admin.job(job).state == .done)
        let labels = live.dataDirectory.appendingPathComponent("labels/\(job)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: labels.path).count == 1)

        let embeddings = live.dataDirectory.appendingPathComponent("embeddings")
        #expect(try FileManager.default.contentsOfDirectory(atPath: embeddings.path).filter { $0.hasSuffix(".safetensors") }.count == 2)

        let deleted = try await live.admin.deleteJob(job)
        #expect(deleted.id == job && deleted.images == 1 && deleted.labelFiles == 1)
        #expect(!FileManager.default.fileExists(atPath: labels.path), "the label maps went with the job")
        #expect(try FileManager.default.contentsOfDirectory(atPath: embeddings.path).filter { $0.hasSuffix(".safetensors") }.count == 1,
                "its class embeddings went too; the other job's stay")
        await expectStatus(404) { _ = try await live.admin.job(job) }
        await expectStatus(404) { _ = try await live.admin.events(job) }
        #expect(try await live.admin.jobs().map(\.id) == [other])
        #expect(try await live.admin.job(other).embeddingsReady)
        #expect(try await live.admin.models().map(\.name) == ["tiny"])
    }

    /// docs/API.md's route table is the same contract: every route, with its method and token.
    @Test func theDocumentedRoutesAreTheRoutes() throws {
        let text = try String(contentsOf: StoreSchemaTests.packageRoot.appendingPathComponent("docs/API.md"), encoding: .utf8)
        var documented = Set<String>()
        for line in text.split(separator: "\n") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 3, Route.Method(rawValue: cells[0]) != nil else { continue }
            documented.insert("\(cells[0]) \(cells[1].replacingOccurrences(of: "`", with: "")) \(cells[2])")
        }
        let routes = Set(Routes.all.map { "\($0.method.rawValue) \($0.template) \($0.access.rawValue)" })
        #expect(documented == routes, "documented only: \(documented.subtracting(routes)); routes only: \(routes.subtracting(documented))")
    }

    /// Templates carried in the settings are the ones the template parser reads.
    @Test func inlineTemplatesAreReadAsSent() throws {
        let settings = JobSettings(templates: Named(rawValue: JobSettings.inlineTemplatesPrefix + "a photo of a {}.\nthe {}."))
        try settings.validate()
        #expect(settings.inlineTemplates == ["a photo of a {}.", "the {}."])
        #expect(try PromptTemplates.named(settings.templates.rawValue).templates == ["a photo of a {}.", "the {}."])
    }

    /// A large manifest sent inline is refused with a pointer to the streamed upload (a 44 MB one used to take
    /// 587 MB of the coordinator's memory); the same manifest streamed makes the job.
    @Test func largeInlineManifestsAreRefusedWithAPointer() async throws {
        let live = try await LiveCoordinator.start()
        defer { live.stop() }
        _ = try await live.admin.addModel(name: "tiny", directory: LiveCoordinator.tinyModel)
        let manifest = (0..<60_000).map { "/data/images/picture-\($0).png" }.joined(separator: "\n")  // 1.8 MB
        let inline = CreateJobRequest(name: nil, model: "tiny", classes: ["cat"], settings: JobSettings(), idempotencyKey: nil,
                                      manifest: manifest)
        await expectStatus(413, containing: "upload larger ones with PUT /v1/manifests") { _ = try await live.admin.createJob(inline) }
        let file = live.dataDirectory.deletingLastPathComponent().appendingPathComponent("large-\(UUID().uuidString).txt")
        defer { try? FileManager.default.removeItem(at: file) }
        try manifest.write(to: file, atomically: true, encoding: .utf8)
        let upload = try await live.admin.uploadManifest(file: file.path)
        // With an idempotency key, as `labelmill submit` sends it: on a loaded machine the creation can outlast the
        // client's stall timeout, and the retry then gets the job the first request made.
        let streamed = try await live.admin.createJob(CreateJobRequest(name: nil, model: "tiny", classes: ["cat"], settings: JobSettings(),
                                                                       idempotencyKey: "large-\(upload)", manifestUpload: upload))
        #expect(streamed.images == 60_000)
    }
}
