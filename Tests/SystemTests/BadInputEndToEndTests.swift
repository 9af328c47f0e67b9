import Foundation
import Hummingbird
import Inference
import LabelAPI
import LabelClient
import Runner
import TestSupport
import Testing

/// A manifest full of bad items next to good ones, through real processes, with the coordinator SIGKILLed and
/// restarted mid-job: every good image is labeled at its source's size, every bad one fails alone with its
/// reason in results.jsonl, the job ends `done`, and nothing is written outside the data and export folders.
@Suite struct BadInputEndToEndTests {
    static let fixtures = LiveCoordinator.fixtures.appendingPathComponent("images")

    /// Images that must decode and label (odd formats included).
    static let goodFiles = ["baseline.jpg", "cmyk.jpg", "progressive.jpg", "grayscale.jpg", "gray16.png", "rgb16.png",
                            "palette_trns.png", "gray_alpha.png", "rgba.png", "interlaced.png", "one_by_one.png"]

    /// An image server that misbehaves on purpose.
    static func webServer() async throws -> LoopbackServer {
        let router = Router()
        router.get("/image/:name") { _, context -> Response in
            let data = try Data(contentsOf: fixtures.appendingPathComponent(try context.parameters.require("name")))
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        router.get("/slow/:name") { _, context -> Response in
            try await Task.sleep(for: .milliseconds(800))
            let data = try Data(contentsOf: fixtures.appendingPathComponent(try context.parameters.require("name")))
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        router.get("/status/:code") { _, context -> Response in
            Response(status: .init(code: try context.parameters.require("code", as: Int.self)))
        }
        router.get("/stall") { _, _ -> Response in
            try await Task.sleep(for: .seconds(60))
            return Response(status: .ok)
        }
        return try await LoopbackServer.start(router)
    }

    @Test(.timeLimit(.minutes(4)))
    func badItemsFailAloneAcrossACoordinatorCrash() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("badinput-\(UUID().uuidString)")
        let root = dir.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let web = try await Self.webServer()
        defer { web.stop() }
        let escape = "escape-\(UUID().uuidString)"

        // Good: odd formats from disk, relative paths served by the coordinator, a URL, a slow URL, extreme shapes.
        var good: [(id: String, source: URL, line: String)] = []
        for name in Self.goodFiles {
            let copy = root.appendingPathComponent(name)
            try FileManager.default.copyItem(at: Self.fixtures.appendingPathComponent(name), to: copy)
            let id = "good-" + name.replacingOccurrences(of: ".", with: "-")
            good.append((id, copy, #"{"id": "\#(id)", "uri": "\#(name)"}"#))
        }
        for (name, width, height) in [("wide.png", 400, 2), ("tall.png", 3, 300)] {
            let shape = LabelMap(width: width, height: height, indices: (0..<width * height).map { UInt8($0 % 200) })
            let url = root.appendingPathComponent(name)
            try Data(try ImageCodec.encodeLabelPNG(shape)).write(to: url)
            let id = "good-" + name.split(separator: ".")[0]
            good.append((id, url, #"{"id": "\#(id)", "uri": "\#(url.path)"}"#))
        }
        good.append(("good-url", Self.fixtures.appendingPathComponent("rgb.png"), #"{"id": "good-url", "uri": "\#(web.url)/image/rgb.png"}"#))
        good.append(("good-slow", Self.fixtures.appendingPathComponent("gray.png"), #"{"id": "good-slow", "uri": "\#(web.url)/slow/gray.png"}"#))

        // Bad, each with a piece of the reason it must fail with.
        let missing = root.appendingPathComponent("missing.png").path
        var bad: [(id: String, line: String, reason: String)] = []
        for (name, reason) in [("truncated.jpg", "JPEG"), ("empty.png", "empty"), ("text.jpg", "not a JPEG or PNG"),
                               ("bomb.png", "pixels"), ("truncated.png", "PNG"), ("bad_crc.png", "PNG")] {
            let copy = root.appendingPathComponent("bad-" + name)
            try FileManager.default.copyItem(at: Self.fixtures.appendingPathComponent(name), to: copy)
            bad.append(("bad-" + name.replacingOccurrences(of: ".", with: "-"), #"{"id": "bad-\#(name.replacingOccurrences(of: ".", with: "-"))", "uri": "\#(copy.path)"}"#, reason))
        }
        bad += [
            ("missing", #"{"id": "missing", "uri": "\#(missing)"}"#, "missing.png: no such file under the coordinator's --image-root"),
            ("unreachable", #"{"id": "unreachable", "uri": "http://127.0.0.1:1/x.png"}"#, "unreachable"),
            ("http404", #"{"id": "http404", "uri": "\#(web.url)/status/404"}"#, "/status/404: its server has no such file"),
            ("http500", #"{"id": "http500", "uri": "\#(web.url)/status/500"}"#, "/status/500: its server failed (status 500)"),
            ("stalled", #"{"id": "stalled", "uri": "\#(web.url)/stall"}"#, "unreachable"),
            ("../../\(escape)", #"{"id": "../../\#(escape)", "uri": "\#(good[0].source.path)"}"#, "not a safe file name"),
            ("/tmp/\(escape)", #"{"id": "/tmp/\#(escape)", "uri": "\#(good[0].source.path)"}"#, "not a safe file name"),
            ("#", #"{"id": "nul\u0000id", "uri": "\#(good[0].source.path)"}"#, "not a safe file name"),
            ("#", "{this is not json", "not valid JSON"),
        ]
        // Interleave good and bad so every task holds both; then a duplicate id on the last line.
        var lines = good.map(\.line) + bad.map(\.line)
        lines = lines.indices.sorted { ($0 % 3, $0) < ($1 % 3, $1) }.map { lines[$0] }
        lines.append(#"{"id": "good-url", "uri": "/elsewhere.png"}"#)
        bad.append(("#", lines.last!, "duplicates line"))
        // Lines without an id of their own get "#<line>".
        bad = try bad.map { item in
            item.id != "#" ? item : ("#\(try #require(lines.firstIndex(of: item.line)) + 1)", item.line, item.reason)
        }
        let manifest = dir.appendingPathComponent("manifest.jsonl")
        try lines.joined(separator: "\n").write(to: manifest, atomically: true, encoding: .utf8)

        let tokenFile = dir.appendingPathComponent("token")
        try "bad-input-token\n".write(to: tokenFile, atomically: true, encoding: .utf8)
        let data = dir.appendingPathComponent("data")
        let port = try LocalPort.free()
        let url = "http://127.0.0.1:\(port)"
        func serve(_ log: String) throws -> LabelmillProcess {
            try LabelmillProcess.start(["serve", "--data", data.path, "--port", "\(port)", "--token-file", tokenFile.path,
                                        "--image-root", root.path], log: dir.appendingPathComponent(log))
        }
        var server = try serve("serve-1.log")
        var workers: [LabelmillProcess] = []
        defer {
            workers.forEach { $0.kill() }
            server.kill()
        }
        let client = CoordinatorClient(baseURL: url, token: "bad-input-token", retry: .immediate(maxAttempts: 3))
        for _ in 0..<100 where !(await client.health()) { try await Task.sleep(for: .milliseconds(100)) }

        let auth = ["--coordinator", url, "--token-file", tokenFile.path]
        _ = try await LabelmillProcess.run(["model", "add"] + auth + ["--name", "tiny", LiveCoordinator.tinyModel.path])
        let submitted = try await LabelmillProcess.run(["submit"] + auth + ["--model", "tiny", "--manifest", manifest.path,
                                                  "--classes", "cat,dog,tree,sky,person", "--short-side", "48", "--shard-size", "3",
                                                  "--lease-seconds", "3", "--json"])
        let job = try JSONDecoder().decode([String: String].self, from: Data(submitted.utf8))["id"]!
        // An image timeout well above the slow route's 800 ms and this process's loopback server's answer while the
        // whole suite loads both cores (2 s once was not: /status/500 timed out in CI), far below the 60 s stall.
        for name in ["w1", "w2"] {
            workers.append(try LabelmillProcess.start(
                ["worker"] + auth + ["--name", name, "--cache", dir.appendingPathComponent("cache").path, "--image-timeout", "10"],
                log: dir.appendingPathComponent("\(name).log")))
        }

        // Crash the coordinator once some images are labeled, and bring it back on the same port and data.
        var status = try await client.job(job)
        for _ in 0..<600 where status.images.done < 3 {
            try await Task.sleep(for: .milliseconds(100))
            status = try await client.job(job)
        }
        #expect(status.images.done >= 3 && status.state == .running)
        server.kill()
        try await Task.sleep(for: .milliseconds(500))
        server = try serve("serve-2.log")
        for _ in 0..<100 where !(await client.health()) { try await Task.sleep(for: .milliseconds(100)) }

        for _ in 0..<1500 where status.state != .done {
            try await Task.sleep(for: .milliseconds(100))
            status = (try? await client.job(job)) ?? status
        }
        #expect(status.state == .done)
        #expect(status.images == JobStatus.Images(total: good.count + bad.count, pending: 0, running: 0, done: good.count, failed: bad.count))

        let out = dir.appendingPathComponent("export")
        let exported = try await LabelmillProcess.runToEnd(["export"] + auth + [job, "--out", out.path])
        #expect(exported.status == 1 && exported.errors.contains("\(bad.count) images failed; their reasons are in"), "\(exported.errors)")
        let results = try String(contentsOf: out.appendingPathComponent("results.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { try JSONDecoder().decode(ImageResultLine.self, from: Data($0.utf8)) }
        let byId = Dictionary(uniqueKeysWithValues: results.map { ($0.id, $0) })
        #expect(results.count == good.count + bad.count)
        for item in bad {
            let result = byId[item.id]
            #expect(result?.status == .failed, "\(item.id.debugDescription) in \(results.map { ($0.id, $0.status, $0.error ?? "") })")
            #expect(result?.error?.contains(item.reason) == true, "\(item.id.debugDescription): \(result?.error ?? "no error")")
        }
        for item in good {
            #expect(byId[item.id]?.status == .done, "\(item.id): \(byId[item.id]?.error ?? "")")
            let label = try ImageCodec.decodeLabelPNG([UInt8](Data(contentsOf: out.appendingPathComponent("labels/\(item.id).png"))))
            let source = try ImageCodec.read(contentsOf: item.source.path)
            #expect(label.width == source.width && label.height == source.height, "\(item.id)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("labels").path).count == good.count)
        // The ledger shows the crash did not label anything twice.
        let events = try await client.events(job, limit: 10_000)
        #expect(events.labeledOnce(done: good.count), "labeled \(events.labeledImages()) times for \(good.count) images")

        // Nothing outside the data and export folders: no escaped file, and only the expected entries here.
        let temporary = FileManager.default.temporaryDirectory
        #expect(!FileManager.default.fileExists(atPath: temporary.appendingPathComponent(escape).path))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/\(escape)"))
        let everything = try FileManager.default.subpathsOfDirectory(atPath: dir.path)
        #expect(everything.filter { $0.contains("escape") }.isEmpty)
        // What the coordinator wrote is readable by its owner only.
        for path in try FileManager.default.subpathsOfDirectory(atPath: data.path) {
            let mode = try #require(try FileManager.default.attributesOfItem(atPath: data.appendingPathComponent(path).path)[.posixPermissions] as? Int)
            #expect(mode & 0o077 == 0, "\(path) has mode \(String(mode, radix: 8))")
        }
        let top = Set(try FileManager.default.contentsOfDirectory(atPath: dir.path))
        #expect(top == ["images", "data", "export", "token", "manifest.jsonl", "serve-1.log", "serve-2.log", "w1.log", "w2.log", "cache"])
    }
}
