import Foundation
import LabelAPI
import LabelClient
import Runner
import Support
import TestSupport
import Testing

/// labelmill as Label Studio's ML backend, against the real Label Studio server (`scripts/label-studio-check`, with
/// the `label-studio` package that `scripts/test-python` installs in `.build/label-studio`): a project with
/// `<BrushLabels>`, images that Label Studio serves itself and one from a plain web server, the backend connected
/// through Label Studio's API, predictions retrieved with its own action; every task's prediction decodes to
/// `labelmill label`'s map, a broken image gets none and `status` says why. Then `export --format label-studio`
/// imported into another project passes the same check.
@Suite(.serialized) struct LabelStudioEndToEndTests {
    /// The Python of `.build/label-studio` (or `LABELMILL_LABEL_STUDIO_PYTHON`) where it runs Label Studio.
    static let python = S3TestServer.python(importing: "label_studio, label_studio_sdk.converter.brush, numpy, PIL",
                                            venv: "label-studio", variable: "LABELMILL_LABEL_STUDIO_PYTHON")

    @Test(.timeLimit(.minutes(6)), .enabled(if: python != nil, "needs label-studio from PyPI in .build/label-studio: run scripts/test-python"))
    func labelStudioGetsLabelmillsMapsAsPredictions() async throws {
        // The coordinator starts first, on the port its cluster picked (a test beside this one may take a port left
        // free for long).
        let (port, token) = (try LocalPort.free(), SHA256Hex.of(Array(UUID().uuidString.utf8)).prefix(40).lowercased())
        let cluster = try FaultCluster("label-studio", imageCount: 2)
        defer { cluster.shutdown() }
        let settings = cluster.directory.appendingPathComponent("label-studio-settings.json")
        try Data("{\"shortSide\": 48}".utf8).write(to: settings)
        // A wait shorter than the labeling: a Retrieve Predictions may answer part of the tasks, the next the rest.
        try await cluster.startCoordinator(arguments: ["--label-studio-settings", settings.path, "--label-studio-wait", "1"],
                                           environment: ["LABEL_STUDIO_URL": "http://127.0.0.1:\(port)", "LABEL_STUDIO_API_KEY": String(token)])
        let images = LiveCoordinator.images
        let broken = cluster.directory.appendingPathComponent("broken.png")
        try Data("not a PNG at all".utf8).write(to: broken)
        let web = try await FixtureImageServer.start(["img0": images.appendingPathComponent("img_a.png"),
                                                      "img1": images.appendingPathComponent("img_b.jpg"), "broken": broken])
        cluster.onShutdown { web.stop() }

        // The reference: `labelmill label` on the same pictures, at the same settings.
        let pictures = cluster.directory.appendingPathComponent("pictures"), reference = cluster.directory.appendingPathComponent("reference")
        try FileManager.default.createDirectory(at: pictures, withIntermediateDirectories: true)
        for (name, source) in [("img_a.png", "img_a.png"), ("img_c.png", "img_c.png"), ("img0.png", "img_a.png"), ("img1.jpg", "img_b.jpg")] {
            try FileManager.default.copyItem(at: images.appendingPathComponent(source), to: pictures.appendingPathComponent(name))
        }
        _ = try await LabelmillProcess.run(["label", "--model", LiveCoordinator.tinyModel.path, "--classes", FaultCluster.classes,
                                            "--short-side", "48", "--out", reference.path, pictures.path])

        // A job of the web server's images, for the export-and-import path (its model is the backend's too).
        try await cluster.submit(uris: ["img0": "\(web.url)/images/img0", "img1": "\(web.url)/images/img1"])
        try cluster.startWorker("w1")
        try await cluster.waitForJobEnd()
        let export = cluster.directory.appendingPathComponent("export")
        _ = try await LabelmillProcess.run(["export", "--coordinator", cluster.url, "--token-file", cluster.tokenFile, cluster.job,
                                            "--format", "label-studio", "--out", export.path])

        let admin = try String(contentsOfFile: cluster.tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let check = try await S3TestServer.runScript(try #require(Self.python), "label-studio-check", [
            "--port", "\(port)", "--token", String(token), "--coordinator", cluster.url, "--admin-token", admin,
            "--classes", FaultCluster.classes, "--reference", reference.path,
            "--upload", images.appendingPathComponent("img_a.png").path, "--upload", images.appendingPathComponent("img_c.png").path,
            "--url", "\(web.url)/images/img1", "--broken", "\(web.url)/images/broken",
            "--export-tasks", export.appendingPathComponent("tasks.json").path]
            // docs/screenshots/label-studio-task.png is made so (it needs selenium beside Label Studio).
            + (ProcessInfo.processInfo.environment["LABELMILL_LABEL_STUDIO_SCREENSHOT"].map { ["--screenshot", $0] } ?? []))
        let tails = cluster.logTails(lines: 30)
        #expect(check.status == 0, "\(check.output)\n\(tails)")
        #expect(check.output.contains("all checks passed"), "\(check.output)")
        // Every task was compared: three by the backend, the broken one without a prediction, two imported.
        let lines = check.output.split(separator: "\n")
        #expect(lines.filter { $0.hasPrefix("ok   backend: task") && $0.hasSuffix("(0 pixels differ)") }.count == 3, "\(check.output)")
        #expect(lines.contains { $0.hasPrefix("ok   backend: the broken image") }, "\(check.output)")
        #expect(lines.filter { $0.hasPrefix("ok   export: task") && $0.hasSuffix("(0 pixels differ)") }.count == 2, "\(check.output)")

        // The broken image's job says why, and so does the coordinator's log.
        // One job, of the four images asked for (the broken one included), however many rounds it took.
        let jobs = try await cluster.admin.jobs().filter { $0.name?.hasPrefix("Label Studio project") == true }
        #expect(jobs.count == 1 && jobs.first?.images.total == 4, "\(jobs.map { ($0.id, $0.images) })")
        let errors = try await jobs.asyncFlatMap { try await cluster.admin.job($0.id).recentErrors }
        #expect(errors.contains { $0.uri.hasSuffix("/images/broken") && $0.error.contains("not a JPEG or PNG") }, "\(errors)")
        #expect(cluster.coordinator?.logText.contains("label-studio.image.failed") == true)
    }
}

extension LabelStudioEndToEndTests {
    /// The protocol without Label Studio: Basic authentication with the admin token (anything else 401); a
    /// prediction asked for before its image is labeled answers no result and why, and a later one answers from the
    /// same job, with the same model version, without labeling the image again.
    @Test(.timeLimit(.minutes(3))) func aPredictionNotReadyInTimeIsAnsweredLaterFromTheSameJob() async throws {
        let cluster = try FaultCluster("label-studio-wait", imageCount: 1)
        defer { cluster.shutdown() }
        let settings = cluster.directory.appendingPathComponent("settings.json")
        try Data("{\"shortSide\": 48}".utf8).write(to: settings)
        try await cluster.startCoordinator(arguments: ["--label-studio-wait", "0", "--label-studio-settings", settings.path])
        _ = try await LabelmillProcess.run(["model", "add", "--coordinator", cluster.url, "--token-file", cluster.tokenFile,
                                            "--name", "tiny", LiveCoordinator.tinyModel.path])
        func call(_ route: Route, password: String = FaultCluster.token, body: String = "") async throws -> (status: Int, json: [String: Any]) {
            let basic = "Basic " + Data("label-studio:\(password)".utf8).base64EncodedString()
            let response = try await HTTPClient().send(ClientRequest(method: .init(rawValue: route.method.rawValue), url: cluster.url + route.template,
                                                                   headers: ["Authorization": basic, "Content-Type": "application/json"],
                                                                   body: body.isEmpty ? .empty : .bytes(Array(body.utf8))))
            return (response.status, (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:])
        }
        #expect(try await call(Routes.labelStudioHealth).json["status"] as? String == "UP")
        #expect(try await call(Routes.labelStudioHealth, password: "not-the-token").status == 401)
        let config = "<View><Image name=\\\"image\\\" value=\\\"$image\\\"/><BrushLabels name=\\\"tag\\\" toName=\\\"image\\\">"
            + FaultCluster.classes.split(separator: ",").map { "<Label value=\\\"\($0)\\\"/>" }.joined() + "</BrushLabels></View>"
        let setup = try await call(Routes.labelStudioSetup, body: "{\"project\": \"1.1700000000\", \"schema\": \"\(config)\"}")
        let version = try #require(setup.json["model_version"] as? String)
        let predict = "{\"tasks\": [{\"id\": 7, \"data\": {\"image\": \"img0.png\"}}], \"project\": \"1.1700000000\", \"label_config\": \"\(config)\"}"

        // No worker yet: the answer says why there is no prediction.
        let first = try await call(Routes.labelStudioPredict, body: predict)
        let early = try #require((first.json["results"] as? [[String: Any]])?.first)
        #expect(early["result"] == nil && (early["error"] as? String)?.contains("still labeling in job") == true, "\(early)")
        try cluster.startWorker("w1")
        try await cluster.waitUntil("the Label Studio job is done") {
            try await cluster.admin.jobs().contains { $0.name?.hasPrefix("Label Studio project") == true && $0.state == .done }
        }
        let second = try await call(Routes.labelStudioPredict, body: predict)
        let answer = try #require((second.json["results"] as? [[String: Any]])?.first)
        let regions = try #require(answer["result"] as? [[String: Any]])
        #expect(!regions.isEmpty && regions.allSatisfy { $0["from_name"] as? String == "tag" && $0["type"] as? String == "brushlabels" })
        #expect(answer["model_version"] as? String == version && (answer["score"] as? Double).map { $0 > 0 && $0 <= 1 } == true, "\(answer)")
        let jobs = try await cluster.admin.jobs().filter { $0.name?.hasPrefix("Label Studio project") == true }
        #expect(jobs.count == 1 && jobs.first?.images.total == 1, "one job, one image: \(jobs.map(\.id))")
    }
}

extension Sequence {
    func asyncFlatMap<T>(_ transform: (Element) async throws -> [T]) async rethrows -> [T] {
        var out: [T] = []
        for element in self { out += try await transform(element) }
        return out
    }
}
