import Coordinator
import Foundation
import LabelAPI
import LabelClient
import TestSupport
import Testing

/// Jobs whose manifests are read in the background, through real `labelmill serve` processes.
@Suite struct PreparationEndToEndTests {
    /// `POST /v1/jobs` answers while the manifest is still being read; the same request under its key gets the same
    /// job at any point; a coordinator SIGKILLed meanwhile goes on from where it stopped when it comes back, and
    /// every line becomes exactly one image, in order, its rejections naming their lines.
    @Test(.timeLimit(.minutes(5)))
    func aCoordinatorKilledWhilePreparingGoesOnWhereItStopped() async throws {
        let cluster = try FaultCluster("prepare-restart", imageCount: 1)
        defer { cluster.shutdown() }
        try await cluster.startCoordinator()
        let auth = ["--coordinator", cluster.url, "--token-file", cluster.tokenFile]
        _ = try await LabelmillProcess.run(["model", "add"] + auth + ["--name", "tiny", LiveCoordinator.tinyModel.path])
        let lines = 200_000
        let manifest = cluster.directory.appendingPathComponent("large.txt")
        // Every 1000th line is refused (not JSON); the rest are paths with unique stems.
        let text = (1...lines).map { $0 % 1000 == 0 ? "{not json \($0)" : "/data/set/img\($0).png" }.joined(separator: "\n")
        try Data(text.utf8).write(to: manifest)
        let request = CreateJobRequest(name: "large", model: "tiny", classes: ["cat", "dog"], settings: JobSettings(shardSize: 8),
                                       idempotencyKey: "restart-test", manifestUpload: try await cluster.admin.uploadManifest(file: manifest.path))
        let created = try await cluster.admin.createJob(request, waitUntilPrepared: false)
        #expect(created.created && created.state == .preparing && created.images == 0)
        let again = try await cluster.admin.createJob(request, waitUntilPrepared: false)
        #expect(again.id == created.id && !again.created, "the same request under its key, while preparing: the same job")

        try await cluster.waitUntil("part of the manifest is read", timeout: .seconds(120)) {
            (try await cluster.admin.job(created.id).preparation?.linesRead ?? 0) > 0
        }
        cluster.killCoordinator()
        let atKill = try #require(try await Self.preparedLines(cluster, created.id))
        try await cluster.startCoordinator()
        let status = try await cluster.admin.waitUntilPrepared(created.id)
        #expect(atKill.state == "preparing" && atKill.lines > 0 && atKill.lines < lines, "killed mid-way: \(atKill)")
        #expect(status.state == .queued && status.images.total == lines && status.images.failed == lines / 1000, "\(status.images)")

        let results = try await cluster.admin.results(created.id)
        #expect(results.count == lines && Set(results.map(\.id)).count == lines)
        let refused = results.filter { $0.status == .failed }
        #expect(refused.map(\.error) == (1...lines / 1000).map { "manifest line \($0 * 1000): not valid JSON" })
        #expect(results.first?.id == "img1" && results.last?.id == "#\(lines)")
        let prepared = try await cluster.admin.events(created.id, limit: 10_000).filter { $0.kind == .jobPrepared }
        #expect(prepared.count == 1 && prepared.first?.reason == "\(lines) images in \(status.tasks.values.reduce(0, +)) tasks, 200 rejected")
        let folder = cluster.dataDirectory.appendingPathComponent("manifests").path
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["\(created.id).manifest"],
                "the manifest stays while its job does: its tasks name its lines")
        _ = try await cluster.admin.cancel(created.id)
        _ = try await cluster.admin.deleteJob(created.id)
        let left = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        #expect(left.isEmpty, "the manifest goes with its job: \(left)")
    }

    /// Six creates of one upload under one key at once (a client's retries, several submits of one request): one
    /// job, which every one of them gets, never a 404 while it is being made (rough edges, item 25).
    @Test(.timeLimit(.minutes(2)))
    func concurrentCreatesUnderOneKeyGetOneJob() async throws {
        let live = try await LiveCoordinator.start()
        defer { live.stop() }
        _ = try await live.admin.addModel(name: "tiny", directory: LiveCoordinator.tinyModel)
        let manifest = FileManager.default.temporaryDirectory.appendingPathComponent("concurrent-\(UUID().uuidString).txt")
        defer { try? FileManager.default.removeItem(at: manifest) }
        try Data((1...20_000).map { "/data/c/img\($0).png" }.joined(separator: "\n").utf8).write(to: manifest)
        let request = CreateJobRequest(name: "concurrent", model: "tiny", classes: ["cat", "dog"], settings: JobSettings(),
                                       idempotencyKey: "six-at-once", manifestUpload: try await live.admin.uploadManifest(file: manifest.path))
        let client = live.patientAdmin
        let answers = try await withThrowingTaskGroup(of: CreateJobResponse.self) { group in
            for _ in 0..<6 { group.addTask { try await client.createJob(request, waitUntilPrepared: false) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(answers.map(\.id)).count == 1 && answers.filter(\.created).count == 1, "\(answers.map { ($0.id, $0.created) })")
        let status = try await client.waitUntilPrepared(answers[0].id)
        #expect(status.images.total == 20_000)
        #expect(try await client.jobs().count == 1)
    }

    /// The job's row as the dead coordinator left it, read from its database file.
    static func preparedLines(_ cluster: FaultCluster, _ id: String) async throws -> (state: String, lines: Int)? {
        let store = try Store(path: cluster.dataDirectory.appendingPathComponent("labelmill.sqlite").path)
        return try store.job(id).map { ($0.state.rawValue, $0.preparedLines) }
    }
}
