import Foundation
import Hummingbird
import Inference
import LabelAPI
import LabelClient
import Runner
import TestSupport
import Testing

/// The whole system as users run it: `labelmill serve`, `model add`, `submit`, three `labelmill worker`
/// processes, one SIGKILLed while it holds a lease, another started; the job must finish with every image
/// labeled exactly once and the ledger must show the expired lease and the retry.
@Suite struct EndToEndTests {
    /// Serves the golden images slowly, so a worker is reliably mid-task when it is killed.
    static func slowImageServer(delay: Duration) async throws -> LoopbackServer {
        let router = Router()
        router.get("/slow/:name") { _, context -> Response in
            try await Task.sleep(for: delay)
            let name = try context.parameters.require("name")
            let data = try Data(contentsOf: LiveCoordinator.images.appendingPathComponent(name))
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        return try await LoopbackServer.start(router)
    }

    @Test(.timeLimit(.minutes(3)))
    func killedWorkerLosesNothing() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("e2e-\(UUID().uuidString)")
        let root = dir.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let sources = ["img_a.png", "img_b.jpg", "img_c.png"]
        var lines: [String] = []
        let slow = try await Self.slowImageServer(delay: .milliseconds(1500))
        defer { slow.stop() }
        for i in 0..<4 { lines.append("{\"id\": \"slow\(i)\", \"uri\": \"\(slow.url)/slow/\(sources[i % 3])\"}") }
        for i in 0..<20 {
            let name = "local\(i).\(sources[i % 3].split(separator: ".")[1])"
            try FileManager.default.copyItem(at: LiveCoordinator.images.appendingPathComponent(sources[i % 3]), to: root.appendingPathComponent(name))
            lines.append(name)
        }
        let manifest = dir.appendingPathComponent("manifest.txt")
        try lines.joined(separator: "\n").write(to: manifest, atomically: true, encoding: .utf8)
        let tokenFile = dir.appendingPathComponent("token")
        try "e2e-token\n".write(to: tokenFile, atomically: true, encoding: .utf8)

        let port = try LocalPort.free()
        let url = "http://127.0.0.1:\(port)"
        let server = try LabelmillProcess.start(["serve", "--data", dir.appendingPathComponent("data").path, "--port", "\(port)",
                                                 "--token-file", tokenFile.path, "--image-root", root.path],
                                                log: dir.appendingPathComponent("serve.log"))
        var workers: [LabelmillProcess] = []
        defer {
            workers.forEach { $0.kill() }
            server.terminate()
        }
        let client = CoordinatorClient(baseURL: url, token: "e2e-token", retry: .immediate(maxAttempts: 3))
        for _ in 0..<100 where !(await client.health()) { try await Task.sleep(for: .milliseconds(100)) }
        #expect(try await HTTPClient().send(ClientRequest(url: url + Routes.jobs.template)).status == 401)

        let auth = ["--coordinator", url, "--token-file", tokenFile.path]
        _ = try await LabelmillProcess.run(["model", "add"] + auth + ["--name", "tiny", LiveCoordinator.tinyModel.path])
        let submitted = try await LabelmillProcess.run(["submit"] + auth + ["--model", "tiny", "--manifest", manifest.path,
                                                  "--classes", "cat,dog,tree,sky,person", "--short-side", "48", "--shard-size", "4",
                                                  "--lease-seconds", "2", "--json"])
        let job = try JSONDecoder().decode([String: String].self, from: Data(submitted.utf8))["id"]!

        func startWorker(_ name: String) throws -> LabelmillProcess {
            // One cache for every worker on this host, as deploy/systemd has it.
            try LabelmillProcess.start(["worker"] + auth + ["--name", name, "--cache", dir.appendingPathComponent("cache").path],
                                       log: dir.appendingPathComponent("\(name).log"))
        }
        // The doomed worker takes the first task (the slow images) alone, then dies holding its lease.
        let doomed = try startWorker("doomed")
        workers.append(doomed)
        var leasedTask: Int64?
        for _ in 0..<300 where leasedTask == nil {
            leasedTask = try await client.events(job).first { $0.kind == .taskLeased && ($0.workerId ?? "").hasPrefix("doomed") }?.taskId
            try await Task.sleep(for: .milliseconds(50))
        }
        let killedTask = try #require(leasedTask)
        try await Task.sleep(for: .milliseconds(300))
        doomed.kill()
        for name in ["w1", "w2", "w3"] { workers.append(try startWorker(name)) }

        var status = try await client.job(job)
        for _ in 0..<600 where status.state != .done {
            try await Task.sleep(for: .milliseconds(100))
            status = try await client.job(job)
        }
        #expect(status.state == .done)
        #expect(status.images == JobStatus.Images(total: 24, pending: 0, running: 0, done: 24, failed: 0))

        let events = try await client.events(job, limit: 10_000)
        #expect(events.contains { $0.kind == .leaseExpired && $0.taskId == killedTask && ($0.workerId ?? "").hasPrefix("doomed") })
        #expect(events.filter { $0.kind == .taskLeased && $0.taskId == killedTask }.count >= 2)
        #expect(events.labeledOnce(done: 24), "labeled \(events.labeledImages()) times for 24 images")

        let out = dir.appendingPathComponent("export")
        _ = try await LabelmillProcess.run(["export"] + auth + [job, "--out", out.path])
        let exported = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("labels").path)
        #expect(exported.count == 24)
        let localDir = dir.appendingPathComponent("local")
        _ = try await LabelmillProcess.run(["label", "--model", LiveCoordinator.tinyModel.path, "--classes", "cat,dog,tree,sky,person",
                                      "--short-side", "48", "--out", localDir.path, "--log-level", "error"]
                                     + sources.map { LiveCoordinator.images.appendingPathComponent($0).path })
        for i in 0..<20 {
            let source = sources[i % 3]
            let remote = try Data(contentsOf: out.appendingPathComponent("labels/local\(i).png"))
            let local = try Data(contentsOf: localDir.appendingPathComponent("\(source.split(separator: ".")[0]).png"))
            #expect(try ImageCodec.decodeLabelPNG([UInt8](remote)) == ImageCodec.decodeLabelPNG([UInt8](local)), "local\(i)")
            try Self.expectMatchesReference(try ImageCodec.decodeLabelPNG([UInt8](remote)), image: source)
        }
    }

    /// Compares a label map with the independent float64 PyTorch reference (`scripts/reference.py`, stored in
    /// the golden fixtures for these settings: short side 48, PD 0.5, KS 0, preset clip, maskclip85; or a dense
    /// mode's case, `mode` such as naclip or clearclip.w56, PD 0): identical wherever the reference's top-two margin is not a near tie, and at
    /// least 99.5% identical overall.
    static func expectMatchesReference(_ map: LabelMap, image: String, mode: String = "maskclip") throws {
        let stem = image.split(separator: ".")[0]
        let (name, suffix) = mode == "maskclip" ? ("clip", ".pd0.5.ks0") : (mode, "")
        let golden = try SafeTensorsFile(path: LiveCoordinator.fixtures.appendingPathComponent("golden/\(stem).\(name).safetensors").path)
        let expected = Array(try golden.floats("labels\(suffix)").buffer), margin = Array(try golden.floats("margin\(suffix)").buffer)
        #expect(expected.count == map.indices.count)
        var same = 0, clearMismatches = 0
        for i in 0..<min(expected.count, map.indices.count) {
            if Float(map.indices[i]) == expected[i] { same += 1 } else if margin[i] > 1e-3 { clearMismatches += 1 }
        }
        #expect(clearMismatches == 0, "\(image)")
        #expect(Double(same) >= 0.995 * Double(expected.count), "\(image): \(same) of \(expected.count)")
    }
}
