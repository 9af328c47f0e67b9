import Foundation
import GRDB
import LabelAPI
import LabelClient
import Runner
import Support
import TestSupport
import Testing

/// A newcomer's first hour, scripted with real processes: a folder and a CRLF manifest as input, an interrupted
/// `run` and its rerun, failed images retried, the errors people make, the job commands, progress in a file and on a
/// terminal. Each test asserts what a person would see.
@Suite(.serialized) struct NewcomerTests {
    static let classes = "cat,dog,tree,sky,person"

    /// A scratch folder with the tiny model copied in (so that hard links to it work) and a HOME of its own.
    final class Desk {
        let root: URL
        let model: URL
        var home: URL { root.appendingPathComponent("home") }
        var environment: [String: String] { ["HOME": home.path, "XDG_CACHE_HOME": "", "LABELMILL_COORDINATOR": "", "LABELMILL_TOKEN": ""] }

        init() throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("newcomer-\(UUID().uuidString)")
            model = root.appendingPathComponent("model")
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: LiveCoordinator.tinyModel, to: model)
        }

        deinit { try? FileManager.default.removeItem(at: root) }

        /// `photos/a.png`, `photos/sub/b.jpg`, `photos/sub/deeper/c.png` and a file that is no image.
        func photos() throws -> URL {
            let photos = root.appendingPathComponent("photos")
            for (name, source) in [("a.png", "img_a.png"), ("sub/b.jpg", "img_b.jpg"), ("sub/deeper/c.png", "img_c.png")] {
                let target = photos.appendingPathComponent(name)
                try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                try FileManager.default.copyItem(at: LiveCoordinator.images.appendingPathComponent(source), to: target)
            }
            try "not an image".write(to: photos.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
            return photos
        }

        func run(_ arguments: [String]) async throws -> LabelmillProcess.Finished {
            try await LabelmillProcess.runToEnd(["run", "--model", model.path, "--classes", NewcomerTests.classes, "--short-side", "48"] + arguments,
                                          environment: environment)
        }
    }

    /// A runtime failure is one line: `labelmill: ...`, without Swift type names, Foundation's internals or the usage.
    static func expectOneLine(_ result: LabelmillProcess.Finished, containing text: String, status: Int32 = 1,
                              sourceLocation: SourceLocation = #_sourceLocation) {
        let lines = result.errors.split(separator: "\n").filter { !$0.contains(" info ") && !$0.contains(" notice ") }
        #expect(result.status == status, "exit status \(result.status): \(result.errors)", sourceLocation: sourceLocation)
        #expect(lines.count == 1 && lines[0].hasPrefix("labelmill: ") && lines[0].contains(text), "\(result.errors)",
                sourceLocation: sourceLocation)
        for internals in ["CurlError", "StoreError", "InferenceError", "Error Domain", "NSCocoa", "Usage:", "bind(descriptor"] {
            #expect(!result.errors.contains(internals), "\(internals) in: \(result.errors)", sourceLocation: sourceLocation)
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func runTakesAFolderAndACRLFManifestAndKeepsNoCopyOfTheModel() async throws {
        let desk = try Desk()
        let photos = try desk.photos()
        let out = desk.root.appendingPathComponent("out")
        let first = try await desk.run(["--manifest", photos.path, "--out", out.path, "--quiet"])
        #expect(first.status == 0, "\(first.errors)")
        let labels = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("labels").path).sorted()
        #expect(labels == ["a.png", "sub_b.png", "sub_deeper_c.png"])
        #expect(!first.errors.contains("\r") && !first.errors.contains("\u{1B}"), "--quiet: no progress at all")
        // The output folder follows the umask (the state inside it is private).
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: out.path)[.posixPermissions] as? Int)
        #expect(mode & 0o055 == 0o055, "out is \(String(mode, radix: 8))")
        // No second copy of the model: its blobs are hard links to the model's files, and the workers' cache is the user's.
        for name in RunInputFiles.model {
            let original = try FileManager.default.attributesOfItem(atPath: desk.model.appendingPathComponent(name).path)
            let sha = try SHA256Hex.of(file: desk.model.appendingPathComponent(name).path)
            let blob = try FileManager.default.attributesOfItem(atPath: out.appendingPathComponent(".labelmill/coordinator/blobs/\(sha.prefix(2))/\(sha)").path)
            #expect(blob[.systemFileNumber] as? Int == original[.systemFileNumber] as? Int, "\(name) is a hard link")
        }
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent(".labelmill/cache").path))
        #expect(FileManager.default.fileExists(atPath: desk.home.appendingPathComponent(".cache/labelmill/models").path))

        // A manifest with CRLF line ends, plain and JSON Lines.
        let manifest = desk.root.appendingPathComponent("crlf.txt")
        try ("photos/a.png\r\n{\"id\": \"bee\", \"uri\": \"photos/sub/b.jpg\"}\r\n\r\n").write(to: manifest, atomically: true, encoding: .utf8)
        let crlf = try await desk.run(["--manifest", manifest.path, "--out", desk.root.appendingPathComponent("out-crlf").path])
        #expect(crlf.status == 0, "\(crlf.errors)")
        #expect(crlf.output.contains("done: 2 labeled, 0 failed of 2"), "\(crlf.output)")
    }

    /// One rule for ids from paths (rough edges, items 3 to 5): a file name's characters an id may not hold become
    /// `_` in a manifest as in a folder; two files that would share a name (`x.jpg`, `x.png`) both get labeled, each
    /// keeping its extension; and an OUT that holds another run is refused, not mixed.
    @Test(.timeLimit(.minutes(2)))
    func idsFromPathsFollowOneRule() async throws {
        let desk = try Desk()
        let folder = desk.root.appendingPathComponent("twins")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: LiveCoordinator.images.appendingPathComponent("img_b.jpg"), to: folder.appendingPathComponent("x.jpg"))
        try FileManager.default.copyItem(at: LiveCoordinator.images.appendingPathComponent("img_a.png"), to: folder.appendingPathComponent("x.png"))
        try FileManager.default.copyItem(at: LiveCoordinator.images.appendingPathComponent("img_c.png"), to: folder.appendingPathComponent("cat one.png"))
        let out = desk.root.appendingPathComponent("out")
        let run = try await desk.run(["--manifest", folder.path, "--out", out.path])
        #expect(run.status == 0 && run.output.contains("3 labeled, 0 failed of 3"), "\(run.output) \(run.errors)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("labels").path).sorted()
                == ["cat_one.png", "x.jpg.png", "x.png.png"])
        let label = try await LabelmillProcess.runToEnd(["label", "--model", desk.model.path, "--classes", Self.classes, "--short-side", "48",
                                                         "--out", desk.root.appendingPathComponent("single").path, folder.path],
                                                        environment: desk.environment)
        #expect(label.status == 0, "\(label.errors)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: desk.root.appendingPathComponent("single").path).sorted()
                == ["cat one.png", "classes.json", "x.jpg.png", "x.png.png"])

        // A plain manifest line names the file as the folder did.
        let manifest = desk.root.appendingPathComponent("plain.txt")
        try "twins/cat one.png\n".write(to: manifest, atomically: true, encoding: .utf8)
        let plainOut = desk.root.appendingPathComponent("plain-out")
        let plain = try await desk.run(["--manifest", manifest.path, "--out", plainOut.path])
        #expect(plain.status == 0, "\(plain.errors)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: plainOut.appendingPathComponent("labels").path) == ["cat_one.png"])

        // Another input into an OUT already used: refused with the fix, and the earlier labels stay as they were.
        let other = try await desk.run(["--manifest", manifest.path, "--out", out.path])
        Self.expectOneLine(other, containing: "holds the run of another input")
        #expect(other.errors.contains("Use a new --out, or delete that folder first"), "\(other.errors)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("labels").path).count == 3)
        let again = try await desk.run(["--manifest", folder.path, "--out", out.path])
        #expect(again.status == 0, "the same input goes on in its OUT: \(again.errors)")
    }

    @Test(.timeLimit(.minutes(2)))
    func labelTakesAFolderAndMirrorsItsSubfolders() async throws {
        let desk = try Desk()
        let photos = try desk.photos()
        let out = desk.root.appendingPathComponent("labels")
        let result = try await LabelmillProcess.runToEnd(["label", "--model", desk.model.path, "--classes", Self.classes, "--short-side", "48",
                                                    "--out", out.path, photos.path], environment: desk.environment)
        #expect(result.status == 0, "\(result.errors)")
        #expect(result.output.contains("labeled 3 of 3 images"))
        let written = try FileManager.default.subpathsOfDirectory(atPath: out.path).filter { $0.hasSuffix(".png") }.sorted()
        #expect(written == ["a.png", "sub/b.png", "sub/deeper/c.png"])

        // A failure is said once, also at --log-level warning (rough edges, item 17), by run and by label.
        try "not an image".write(to: photos.appendingPathComponent("bad.png"), atomically: true, encoding: .utf8)
        for command in ["label", "run"] {
            let arguments = command == "label" ? ["--out", out.path + "-warn", photos.path] : ["--manifest", photos.path, "--out", out.path + "-run"]
            let failed = try await LabelmillProcess.runToEnd([command, "--model", desk.model.path, "--classes", Self.classes, "--short-side", "48",
                                                              "--log-level", "warning", "--quiet"].filter { command == "run" || $0 != "--quiet" }
                                                             + arguments, environment: desk.environment)
            #expect(failed.status == 1)
            let mentions = failed.errors.components(separatedBy: "not a JPEG or PNG image").count - 1
            #expect(mentions == 1, "\(command): \(failed.errors)")
        }
    }

    /// Ctrl-C stops after the current image, gives the leases back and says how to go on; the rerun finishes at once
    /// (no lease to wait out) and the interrupt cost no attempt.
    @Test(.timeLimit(.minutes(3)))
    func anInterruptedRunResumesPromptly() async throws {
        let desk = try Desk()
        let ids = (0..<6).map { "img\($0)" }
        let images = try await FixtureImageServer.start(Dictionary(uniqueKeysWithValues: ids.map { ($0, FaultCluster.source(of: $0)) }))
        ids.dropFirst(2).forEach { images.close($0) }
        let manifest = desk.root.appendingPathComponent("manifest.txt")
        try ids.map { "{\"id\": \"\($0)\", \"uri\": \"\(images.uri($0))\"}" }.joined(separator: "\n").write(to: manifest, atomically: true, encoding: .utf8)
        let out = desk.root.appendingPathComponent("out")
        let arguments = ["run", "--model", desk.model.path, "--classes", Self.classes, "--short-side", "48", "--shard-size", "2",
                         "--manifest", manifest.path, "--out", out.path]
        let log = desk.root.appendingPathComponent("run-1.log")
        let first = try LabelmillProcess.start(arguments, log: log, environment: desk.environment)
        defer { first.kill() }
        let deadline = ContinuousClock.now + .seconds(60)
        while images.requests(for: "img2") == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(images.requests(for: "img2") == 1, "the worker reached the second task")
        first.send(SIGINT)
        try await Task.sleep(for: .milliseconds(300))
        ids.forEach { images.open($0) }
        #expect(await first.waitForExit(timeout: .seconds(20)))
        #expect(first.process.terminationStatus == 130, "\(first.logText)")
        #expect(first.logText.contains("interrupted: 3 of 6 labeled") && first.logText.contains("run the same command again"), "\(first.logText)")

        let rerun = try await LabelmillProcess.runToEnd(arguments, environment: desk.environment)
        #expect(rerun.status == 0, "\(rerun.errors)")
        #expect(rerun.output.contains("done: 6 labeled, 0 failed of 6"), "\(rerun.output)")
        #expect(rerun.duration < .seconds(30), "the rerun did not wait out a lease: \(rerun.duration)")
        let database = try DatabaseQueue(path: out.appendingPathComponent(".labelmill/coordinator/labelmill.sqlite").path)
        let (expired, released, maxAttempts) = try await database.read { db in
            (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events WHERE kind = 'lease.expired'") ?? -1,
             try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events WHERE kind = 'task.released'") ?? -1,
             try Int.fetchOne(db, sql: "SELECT MAX(attempts) FROM tasks") ?? -1)
        }
        #expect(expired == 0 && released >= 1 && maxAttempts == 1, "expired \(expired), released \(released), attempts \(maxAttempts)")
        // As the README says: the interrupt cost no image an attempt, in results.jsonl either (rough edges, item 12).
        let results = try String(contentsOf: out.appendingPathComponent("results.jsonl"), encoding: .utf8)
        let attempts = try results.split(separator: "\n").map { try JSONDecoder().decode(ImageResultLine.self, from: Data($0.utf8)).attempts }
        #expect(attempts == Array(repeating: 1, count: 6), "\(results)")
    }

    /// `run --ui`: the address it prints signs a browser in to the embedded coordinator's dashboard, whose gallery
    /// has the local workers' thumbnails; it stays up after the job until Ctrl-C, which then ends the run cleanly.
    @Test(.timeLimit(.minutes(3)))
    func runWithTheDashboardServesItUntilCtrlC() async throws {
        let desk = try Desk()
        let out = desk.root.appendingPathComponent("out")
        let run = try LabelmillProcess.start(["run", "--model", desk.model.path, "--classes", Self.classes, "--short-side", "48",
                                              "--manifest", try desk.photos().path, "--out", out.path, "--ui"],
                                             log: desk.root.appendingPathComponent("run.log"), environment: desk.environment)
        defer { run.kill() }
        let deadline = ContinuousClock.now + .seconds(120)
        while !run.logText.contains("the dashboard is still up") && run.process.isRunning && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        let log = run.logText
        #expect(log.contains("done: 3 labeled, 0 failed of 3") && log.contains("Ctrl-C to stop"), "\(log)")
        let line = try #require(log.split(separator: "\n").first { $0.hasPrefix("dashboard: http://127.0.0.1:") }, "\(log)")
        let address = String(line.dropFirst("dashboard: ".count))
        let base = String(address.prefix { $0 != "?" }).trimmingCharacters(in: CharacterSet(charactersIn: "/"))

        let http = HTTPClient()
        let signIn = try await http.send(ClientRequest(url: address, followRedirects: false))
        #expect(signIn.status == 303, "\(signIn.bodyText)")
        let cookie = String(try #require(signIn.headers["Set-Cookie"]?.split(separator: ";").first))
        let session: HTTPHeaders = ["Cookie": cookie]
        #expect(try await http.send(ClientRequest(url: base + "/", headers: session)).bodyText.contains("/ui/app.js"))
        let jobs = try JSONDecoder().decode([JobStatus].self, from: Data(try await http.send(ClientRequest(url: base + "/v1/jobs", headers: session)).body))
        let job = try #require(jobs.first)
        #expect(jobs.count == 1 && job.state == .done)
        let gallery = try JSONDecoder().decode(GalleryPage.self, from: Data(
            try await http.send(ClientRequest(url: base + "/v1/jobs/\(job.id)/gallery", headers: session)).body))
        #expect(gallery.images.map(\.id).sorted() == ["a", "sub_b", "sub_deeper_c"] && gallery.images.allSatisfy(\.thumbnail), "\(gallery)")
        let thumbnail = try await http.send(ClientRequest(url: base + "/v1/jobs/\(job.id)/thumbnails/sub_b", headers: session))
        #expect(thumbnail.status == 200 && thumbnail.body.starts(with: [0xFF, 0xD8]), "a JPEG from the worker")

        // Label Studio's backend is there too, its password the printed token (docs/LABEL-STUDIO.md); the model is
        // the run's.
        let token = try #require(address.split(separator: "token=").last.map(String.init))
        let basic: HTTPHeaders = ["Authorization": "Basic " + Data("label-studio:\(token)".utf8).base64EncodedString(),
                                  "Content-Type": "application/json"]
        let health = try await http.send(ClientRequest(url: base + Routes.labelStudioHealth.template, headers: basic))
        #expect(health.status == 200 && health.bodyText.contains("UP"), "\(health.bodyText)")
        let schema = "<View><Image name=\\\"image\\\" value=\\\"$image\\\"/><BrushLabels name=\\\"tag\\\" toName=\\\"image\\\">"
            + "<Label value=\\\"cat\\\"/></BrushLabels></View>"
        let setup = try await http.send(ClientRequest(method: .post, url: base + Routes.labelStudioSetup.template, headers: basic,
                                                    body: .bytes(Array("{\"project\": \"1.1\", \"schema\": \"\(schema)\"}".utf8))))
        #expect(setup.status == 200 && setup.bodyText.contains("\"model_version\":\"labelmill-"), "\(setup.bodyText)")

        run.send(SIGINT)
        #expect(await run.waitForExit(timeout: .seconds(20)))
        #expect(run.process.terminationStatus == 0, "\(run.logText)")
        #expect((try? FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("labels").path))?.count == 3)
    }

    /// `run --ui --ui-port P` with P taken: one line with the fix, like `serve`'s, and no OUT/.labelmill left
    /// behind (rough edges, item 2: it printed an internal bind error and left the folder).
    @Test(.timeLimit(.minutes(2)))
    func runWithATakenDashboardPortSaysSo() async throws {
        let desk = try Desk()
        let out = desk.root.appendingPathComponent("out")
        let taken = try RefusingPort()  // bound: nothing else may bind it
        let run = try await LabelmillProcess.runToEnd(["run", "--model", desk.model.path, "--classes", Self.classes, "--short-side", "48",
                                                       "--manifest", try desk.photos().path, "--out", out.path, "--ui",
                                                       "--ui-port", "\(taken.number)"], environment: desk.environment)
        Self.expectOneLine(run, containing: "port \(taken.number) on 127.0.0.1 is in use: stop what listens there, or pick another with --ui-port")
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent(".labelmill").path))
        withExtendedLifetime(taken) {}
    }

    /// An idle worker (a long poll open, no work anywhere) stops on SIGTERM at once, not when its 20 s poll ends
    /// (rough edges, item 11: it took 16 s and spoke of a current image it did not have).
    @Test(.timeLimit(.minutes(2)))
    func anIdleWorkerStopsAtOnce() async throws {
        let cluster = try FaultCluster("idle-stop", imageCount: 1)
        defer { cluster.shutdown() }
        try await cluster.startCoordinator()
        let worker = try cluster.startWorker("idle")
        try await cluster.waitUntil("the worker has started", timeout: .seconds(30)) { worker.logText.contains("worker.started") }
        try await Task.sleep(for: .seconds(1))  // inside its first long poll
        worker.send(SIGTERM)
        #expect(await worker.waitForExit(timeout: .seconds(8)), "still running 8 s after SIGTERM: \(worker.logText)")
        #expect(worker.process.terminationStatus == 0 && !worker.logText.contains("after the current image"), "\(worker.logText)")
    }

    @Test(.timeLimit(.minutes(2)))
    func aRerunRetriesTheImagesThatFailed() async throws {
        let desk = try Desk()
        let missing = desk.root.appendingPathComponent("late.png")
        let manifest = desk.root.appendingPathComponent("manifest.txt")
        try [LiveCoordinator.images.appendingPathComponent("img_a.png").path, missing.path].joined(separator: "\n")
            .write(to: manifest, atomically: true, encoding: .utf8)
        let out = desk.root.appendingPathComponent("out")
        let first = try await desk.run(["--manifest", manifest.path, "--out", out.path])
        #expect(first.status == 1 && first.errors.contains("1 image failed (reasons in") && first.errors.contains("run again to retry them"), "\(first.errors)")
        try FileManager.default.copyItem(at: LiveCoordinator.images.appendingPathComponent("img_c.png"), to: missing)
        let second = try await desk.run(["--manifest", manifest.path, "--out", out.path])
        #expect(second.status == 0, "\(second.errors)")
        #expect(second.output.contains("retried 1 image that had failed before") && second.output.contains("done: 2 labeled, 0 failed of 2"), "\(second.output)")
    }

    /// The mistakes of a first hour, each answered in one line that says what to do.
    @Test(.timeLimit(.minutes(3)))
    func errorsReadAsOneLineWithTheFix() async throws {
        let desk = try Desk()
        let cluster = try FaultCluster("newcomer-errors")
        defer { cluster.shutdown() }
        try await cluster.startCoordinator()
        let closed = try LocalPort.free()
        let token = cluster.tokenFile
        let wrongToken = desk.root.appendingPathComponent("wrong-token")
        try "not-the-token-at-all\n".write(to: wrongToken, atomically: true, encoding: .utf8)
        func labelmill(_ arguments: [String]) async throws -> LabelmillProcess.Finished {
            try await LabelmillProcess.runToEnd(arguments, environment: desk.environment)
        }

        Self.expectOneLine(try await labelmill(["status", "--coordinator", "http://127.0.0.1:\(closed)", "--token-file", token]),
                           containing: "is `labelmill serve` running there")
        Self.expectOneLine(try await labelmill(["status", "--coordinator", "https://127.0.0.1:\(cluster.port)", "--token-file", token]),
                           containing: "use http://")
        Self.expectOneLine(try await labelmill(["status", "--coordinator", cluster.url, "--token-file", wrongToken.path]),
                           containing: "the coordinator refused the token")
        Self.expectOneLine(try await labelmill(["serve", "--data", desk.root.appendingPathComponent("data").path, "--port", "\(cluster.port)",
                                          "--token-file", token]),
                           containing: "port \(cluster.port) on 127.0.0.1 is in use")
        // A short token in a file others may read: serve warns about both (and here fails on the busy port).
        let weak = desk.root.appendingPathComponent("weak-token")
        try "short\n".write(to: weak, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: weak.path)
        let serve = try await labelmill(["serve", "--data", desk.root.appendingPathComponent("data").path, "--port", "\(cluster.port)",
                                   "--token-file", weak.path])
        #expect(serve.status == 1 && serve.errors.contains("the token has 5 characters") && serve.errors.contains("chmod 600 \(weak.path)"),
                "\(serve.errors)")
        let out = desk.root.appendingPathComponent("out")
        Self.expectOneLine(try await desk.run(["--manifest", desk.root.appendingPathComponent("nope.txt").path, "--out", out.path]),
                           containing: "cannot read the manifest")
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent(".labelmill").path), "a failed start leaves no .labelmill")
        Self.expectOneLine(try await labelmill(["label", "--model", desk.model.path, "--classes-file", "nope.txt", "--out", out.path, "x.png"]),
                           containing: "cannot read the classes file nope.txt: no such file")
        let gs = desk.root.appendingPathComponent("gs.txt")
        try "gs://bucket/photos/x.jpg\n".write(to: gs, atomically: true, encoding: .utf8)
        Self.expectOneLine(try await desk.run(["--manifest", gs.path, "--out", out.path]), containing: "gs:// URIs are not supported")
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent(".labelmill").path), "refused before the store opens")
        let file = desk.root.appendingPathComponent("a-file")
        try "".write(to: file, atomically: true, encoding: .utf8)
        Self.expectOneLine(try await labelmill(["label", "--model", desk.model.path, "--classes", Self.classes, "--out", file.appendingPathComponent("x").path,
                                          LiveCoordinator.images.appendingPathComponent("img_a.png").path]),
                           containing: "mkdir \(file.path): a file of that name is in the way")
        let usage = try await desk.run(["--manifest", "x", "--out", out.path, "--workers", "0"])
        #expect(usage.status == 64 && usage.errors.contains("--workers 0 is out of range"), "a usage error is one: \(usage.errors)")

        // Workers: a refused token ends the worker with the reason; --idle-exit counts while nothing answers.
        // At the default log level too, and said once, in words (rough edges, item 9).
        let refused = try await labelmill(["worker", "--coordinator", cluster.url, "--token-file", wrongToken.path])
        Self.expectOneLine(refused, containing: "the coordinator refused this worker's token (invalid bearer token): check --token-file")
        #expect(!refused.errors.contains("HTTP 401") && !refused.errors.contains("/v1/tasks"), "\(refused.errors)")
        #expect(refused.duration < .seconds(15))
        let idle = try await labelmill(["worker", "--coordinator", "http://127.0.0.1:\(closed)", "--token-file", token, "--idle-exit", "2",
                                  "--log-level", "critical"])
        #expect(idle.status == 0 && idle.duration < .seconds(30), "\(idle.duration) \(idle.errors)")

        // A model fetch without internet names the way out, not a coordinator (rough edges, item 8).
        let fetch = try await labelmill(["model", "fetch", "--base-url", "http://127.0.0.1:\(closed)",
                                         "--out", desk.root.appendingPathComponent("fetched").path])
        Self.expectOneLine(fetch, containing: "http://127.0.0.1:\(closed) cannot be reached")
        #expect(fetch.errors.contains("scripts/label-example --offline") && !fetch.errors.contains("labelmill serve"), "\(fetch.errors)")

        let version = try await labelmill(["--version"])
        #expect(version.status == 0 && version.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").count == 3)
    }

    /// retry, cancel, delete and model list, as commands; LABELMILL_COORDINATOR instead of --coordinator.
    @Test(.timeLimit(.minutes(2)))
    func jobCommands() async throws {
        let cluster = try FaultCluster("newcomer-commands")
        defer { cluster.shutdown() }
        try await cluster.startCoordinator()
        try await cluster.submit()
        let environment = ["LABELMILL_COORDINATOR": cluster.url, "LABELMILL_TOKEN": FaultCluster.token]
        func labelmill(_ arguments: [String]) async throws -> LabelmillProcess.Finished {
            try await LabelmillProcess.runToEnd(arguments, environment: environment)
        }
        let models = try await labelmill(["model", "list"])
        #expect(models.status == 0 && models.output.hasPrefix("tiny  "), "\(models.output) \(models.errors)")
        let nothing = try await labelmill(["retry", cluster.job])
        #expect(nothing.status == 0 && nothing.output.contains(": nothing to retry: no image has failed"), "\(nothing.output) \(nothing.errors)")
        let cancelled = try await labelmill(["cancel", cluster.job])
        #expect(cancelled.status == 0 && cancelled.output.contains(": cancelled"), "\(cancelled.output) \(cancelled.errors)")
        let retry = try await labelmill(["retry", cluster.job])
        #expect(retry.status == 1 && retry.errors.contains("is cancelled, and a cancelled job does not run again: submit its manifest")
                && !retry.errors.contains("HTTP 409"), "\(retry.errors)")
        let jobs = try await labelmill(["status"])
        #expect(jobs.output.contains("cancelled  0 done, 0 failed of 10"), "\(jobs.output)")
        let deleted = try await labelmill(["delete", cluster.job])
        #expect(deleted.status == 0 && deleted.output.contains("deleted \(cluster.job): 10 images"), "\(deleted.output) \(deleted.errors)")
        // The coordinator's words, without the request line and status (rough edges, item 9).
        let gone = try await labelmill(["status", cluster.job])
        Self.expectOneLine(gone, containing: "no job \(cluster.job)")
        #expect(!gone.errors.contains("HTTP 404") && !gone.errors.contains("/v1/jobs"), "\(gone.errors)")
    }

    /// Every --help answers (exit 0) with an example; flags are spelled as the README spells them; a negative number
    /// is refused with its range, not taken for a flag.
    @Test(.timeLimit(.minutes(2)))
    func helpFlagsAndWarningsAreConsistent() async throws {
        let desk = try Desk()
        func labelmill(_ arguments: [String]) async throws -> LabelmillProcess.Finished {
            try await LabelmillProcess.runToEnd(arguments, environment: desk.environment)
        }
        let commands = ["", "run", "label", "embed", "serve", "worker", "submit", "status", "retry", "cancel", "delete", "export",
                        "model", "model add", "model list", "model fetch", "backup", "bench", "bench encoder", "bench text",
                        "bench blas", "bench coordinator"]
        for command in commands {
            let help = try await labelmill(command.split(separator: " ").map(String.init) + ["--help"])
            #expect(help.status == 0 && help.output.contains("USAGE: labelmill") && help.output.contains("Example"),
                    "labelmill \(command) --help: \(help.status) \(help.output) \(help.errors)")
            // The text above USAGE is laid out by hand to fit 80 columns: the parser, which wraps at the terminal's
            // width, must have nothing to re-wrap there (rough edges, item 15: ragged lines that split commands).
            let wide = try await LabelmillProcess.runToEnd(command.split(separator: " ").map(String.init) + ["--help"],
                                                           environment: desk.environment.merging(["COLUMNS": "300"]) { $1 })
            let narrow = try await LabelmillProcess.runToEnd(command.split(separator: " ").map(String.init) + ["--help"],
                                                             environment: desk.environment.merging(["COLUMNS": "80"]) { $1 })
            // (The one-line OVERVIEW is the parser's to wrap; the discussion follows it after a blank line.)
            func discussion(_ text: String) -> String {
                (text.components(separatedBy: "USAGE:").first ?? "").components(separatedBy: "\n\n").dropFirst().joined(separator: "\n\n")
            }
            #expect(discussion(narrow.output) == discussion(wide.output), "labelmill \(command) --help is re-wrapped at 80 columns")
        }
        let noClasses = try await labelmill(["run", "--model", desk.model.path, "--manifest", "photos", "--out", "out"])
        #expect(noClasses.status == 64 && noClasses.errors.contains("give exactly one of --classes or --classes-file")
                && noClasses.errors.contains("Usage: labelmill run"), "the usage of run, not of labelmill: \(noClasses.errors)")
        let bench = try await labelmill(["bench", "--help"])
        #expect(bench.output.contains("pamr"), "bench --help lists every benchmark: \(bench.output)")
        let worker = try await labelmill(["help", "worker"])
        #expect(worker.status == 0 && worker.output.contains("--max-image-mib") && !worker.output.contains("mi-b"), "\(worker.output)")
        let name = worker.output.components(separatedBy: "--name <name>").last?.components(separatedBy: "--cache").first ?? ""
        #expect(name.components(separatedBy: "default").count == 2, "one default for --name: \(name)")

        let negative = try await labelmill(["label", "--model", desk.model.path, "--classes", Self.classes, "--out", "out",
                                      "--prompt-denoise", "-0.5", "x.png"])
        #expect(negative.status == 64 && negative.errors.contains("--prompt-denoise -0.5 is out of range"), "\(negative.errors)")

        // Range errors quote what was typed and the whole range (rough edges, item 14).
        let base = ["label", "--model", desk.model.path, "--classes", Self.classes, "--out", "out"]
        let dilations = try await labelmill(base + ["--pamr-dilations", "1,x", "x.png"])
        #expect(dilations.status == 64 && dilations.errors.contains(#"--pamr-dilations 1,x: "x" is not a whole number"#), "\(dilations.errors)")
        let window = try await labelmill(base + ["--window", "10", "x.png"])
        #expect(window.status == 64 && window.errors.contains("--window 10 is out of range: 0 (the whole image at once) or 14 to 2048"),
                "\(window.errors)")
        let weights = desk.model.appendingPathComponent("model.safetensors").path
        let file = try await labelmill(["label", "--model", weights, "--classes", Self.classes, "--out", "out",
                                        LiveCoordinator.images.appendingPathComponent("img_a.png").path])
        #expect(file.status != 0 && file.errors.contains("\(weights) is a file: give the model's folder (\(desk.model.path))"), "\(file.errors)")
        // run and label say the same of a model that is not there, and of one given as its weights file.
        let missing = desk.root.appendingPathComponent("no-such-model").path
        for arguments in [["--model", missing], ["--model", weights]] {
            let run = try await labelmill(["run", "--classes", Self.classes, "--manifest", LiveCoordinator.images.path, "--out", "out-run"] + arguments)
            let label = try await labelmill(["label", "--classes", Self.classes, "--out", "out-label"] + arguments
                                            + [LiveCoordinator.images.appendingPathComponent("img_a.png").path])
            let expected = arguments[1] == missing ? "model directory \(missing) does not exist" : "\(weights) is a file: give the model's folder"
            #expect(run.errors.contains(expected) && label.errors.contains(expected), "run: \(run.errors) label: \(label.errors)")
        }
    }

    /// Progress in a file is a plain line now and then; on a terminal the bar is redrawn in place, under the log lines.
    @Test(.timeLimit(.minutes(2)), .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), "needs script(1) for a terminal"))
    func progressInAFileAndOnATerminal() async throws {
        let desk = try Desk()
        let photos = try desk.photos()
        let plain = try await desk.run(["--manifest", photos.path, "--out", desk.root.appendingPathComponent("plain").path])
        #expect(plain.status == 0)
        #expect(plain.errors.contains("[") && !plain.errors.contains("\r") && !plain.errors.contains("\u{1B}"), "\(plain.errors.debugDescription)")
        // A run logs warnings and worse unless asked: no cache paths, BLAS engines or "Server started" (rough edges, item 17).
        #expect(!plain.errors.contains(" info "), "\(plain.errors)")

        // Info lines asked for (run logs only warnings by default), to see them interleave with the bar.
        let command = ([LabelmillProcess.executable.path, "run", "--model", desk.model.path, "--classes", Self.classes, "--short-side", "48",
                        "--manifest", photos.path, "--out", desk.root.appendingPathComponent("tty").path, "--log-level", "info"]).map { "'\($0)'" }.joined(separator: " ")
        let transcript = desk.root.appendingPathComponent("typescript")
        let terminal = Process()
        terminal.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        terminal.arguments = ["-q", "-e", "-c", command, transcript.path]
        terminal.environment = ProcessInfo.processInfo.environment.merging(desk.environment) { $1 }
        terminal.standardInput = FileHandle.nullDevice
        terminal.standardOutput = FileHandle.nullDevice
        try terminal.run()
        await LabelmillProcess.exit(of: terminal)
        let text = try String(contentsOf: transcript, encoding: .utf8)
        #expect(terminal.terminationStatus == 0, "\(text)")
        #expect(text.contains("\r\u{1B}[K"), "the bar is redrawn in place on a terminal")
        // A log line clears the bar first and prints on a line of its own; the bar is drawn again below it.
        // Split on bytes: "\r\n", which the terminal ends lines with, is one Character. script(1)'s own header line
        // names the command (with "labelmill") and is not the program's output.
        let logLines = text.utf8.split(separator: UInt8(ascii: "\n")).map { String(decoding: $0, as: UTF8.self) }
            .filter { $0.contains(" info labelmill") && !$0.hasPrefix("Script ") }
        #expect(logLines.contains { $0.contains("workers  \r\u{1B}[K") }, "log lines came while the bar was up: \(text.debugDescription)")
        for line in logLines {
            let shown = line.components(separatedBy: "\r\u{1B}[K").last ?? ""
            #expect(shown.first?.isNumber == true, "a log line glued to the bar: \(line.debugDescription)")
        }
    }
}

/// The model files `labelmill run` links into its store.
enum RunInputFiles {
    static let model = ["config.json", "model.safetensors", "vocab.json", "merges.txt"]
}
