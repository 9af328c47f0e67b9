import Foundation
import LabelAPI
import LabelClient
import Runner
import TestSupport
import Testing

/// One scenario's system of real processes on loopback, shaped like the deployments the docs describe:
/// `labelmill serve` on its own data directory and port, the tiny model, one job over `images`, and `labelmill
/// worker`s on this host that share one model cache. `shutdown()` (called from a `defer`) kills every process it
/// started, runs the cleanups and removes the scenario's directory.
final class FaultCluster: @unchecked Sendable {
    static let token = "fault-suite-token"
    static let classes = "cat,dog,tree,sky,person"
    static let sources = ["img_a.png", "img_b.jpg", "img_c.png"]
    /// The manifest: `count` images cycling through the three golden fixtures.
    static func images(count: Int) -> [(id: String, file: String)] {
        (0..<count).map { i in
            let source = sources[i % sources.count]
            return ("img\(i)", "img\(i).\(source.split(separator: ".")[1])")
        }
    }
    static func source(of id: String) -> URL {
        LiveCoordinator.images.appendingPathComponent(sources[Int(id.dropFirst(3))! % sources.count])
    }

    /// Where a worker keeps its models and class embeddings.
    enum Cache {
        /// `--cache DIR/cache`, one directory for every worker of the scenario (as `deploy/systemd` does).
        case shared
        /// No `--cache`: the default `$HOME/.cache/labelmill`, with one `HOME` for every worker.
        case home
        /// `--cache DIR/cache-<name>`: a worker alone on its cache (for a scenario about exactly that).
        case own
    }

    let name: String
    let images: [(id: String, file: String)]
    let directory: URL
    let imageRoot: URL
    let dataDirectory: URL
    let port: Int
    let url: String
    let admin: CoordinatorClient
    private(set) var coordinator: LabelmillProcess?
    private(set) var workers: [LabelmillProcess] = []
    private(set) var job = ""
    private var cleanups: [() -> Void] = []
    let started = ContinuousClock.now

    /// A fresh directory (the images under `images/`, the coordinator's image root; its data under `data/`)
    /// and a free port.
    init(_ name: String, imageCount: Int = 10) throws {
        self.name = name
        images = Self.images(count: imageCount)
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("faults-\(name)-\(UUID().uuidString)")
        imageRoot = directory.appendingPathComponent("images")
        dataDirectory = directory.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: imageRoot, withIntermediateDirectories: true)
        for image in images {
            try FileManager.default.copyItem(at: Self.source(of: image.id), to: imageRoot.appendingPathComponent(image.file))
        }
        try "\(Self.token)\n".write(to: directory.appendingPathComponent("token"), atomically: true, encoding: .utf8)
        // Private, as the README tells people to keep it (serve warns about a token others may read).
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: directory.appendingPathComponent("token").path)
        port = try LocalPort.free()
        url = "http://127.0.0.1:\(port)"
        admin = CoordinatorClient(baseURL: url, token: Self.token, retry: .immediate(maxAttempts: 3))
    }

    var tokenFile: String { directory.appendingPathComponent("token").path }

    /// Runs `cleanup` in `shutdown()`, before the directory is removed (last added, first run).
    func onShutdown(_ cleanup: @escaping () -> Void) { cleanups.append(cleanup) }

    /// Starts `labelmill serve` (again, after a kill: same data directory, same port) and waits until it answers.
    func startCoordinator(arguments: [String] = [], environment: [String: String] = [:]) async throws {
        let log = directory.appendingPathComponent("serve-\(UUID().uuidString.prefix(4)).log")
        coordinator = try LabelmillProcess.start(["serve", "--data", dataDirectory.path, "--port", "\(port)",
                                                  "--token-file", tokenFile, "--image-root", imageRoot.path] + arguments,
                                                 log: log, environment: environment)
        try await waitUntil("the coordinator answers on port \(port)", timeout: .seconds(20)) { await self.admin.health() }
    }

    func killCoordinator() { coordinator?.kill() }

    /// `model add` and `submit` through the CLI; waits until the job's class embeddings are ready.
    /// `uris` maps image ids to manifest URIs (default: the files under the image root); `source` replaces
    /// `--manifest FILE` (`--from s3://...`), with `environment` for the submitting process; `extraLines` follow the
    /// images' lines in the manifest.
    func submit(uris: [String: String] = [:], source: [String]? = nil, environment: [String: String] = [:],
                leaseSeconds: Double = 3, maxAttempts: Int = 5, classes: [String] = ["--classes", FaultCluster.classes],
                arguments extra: [String] = [], extraLines: [String] = []) async throws {
        let manifest = directory.appendingPathComponent("manifest.jsonl")
        let lines = try images.map { image in
            String(decoding: try JSONEncoder().encode(["id": image.id, "uri": uris[image.id] ?? image.file]), as: UTF8.self)
        } + extraLines
        try lines.joined(separator: "\n").write(to: manifest, atomically: true, encoding: .utf8)
        let auth = ["--coordinator", url, "--token-file", tokenFile]
        _ = try await LabelmillProcess.run(["model", "add"] + auth + ["--name", "tiny", LiveCoordinator.tinyModel.path])
        let output = try await LabelmillProcess.run(["submit"] + auth + (source ?? ["--manifest", manifest.path]) + [
            "--model", "tiny"] + classes + ["--short-side", "48",
            "--shard-size", "2", "--lease-seconds", "\(leaseSeconds)", "--max-attempts", "\(maxAttempts)", "--json"] + extra,
            environment: environment)
        job = try #require(try JSONDecoder().decode([String: String].self, from: Data(output.utf8))["id"])
        try await waitUntil("the class embeddings of \(job) are ready", timeout: .seconds(30)) {
            (try? await self.admin.job(self.job).embeddingsReady) ?? false
        }
    }

    /// The model cache of the workers started with `cache` (`.own`: of the worker `name`).
    func cacheDirectory(_ cache: Cache = .shared, name: String = "") -> URL {
        switch cache {
        case .shared: directory.appendingPathComponent("cache")
        case .home: directory.appendingPathComponent("home/.cache/labelmill")
        case .own: directory.appendingPathComponent("cache-\(name)")
        }
    }

    /// Starts `labelmill worker --name <name>` against `coordinator` (default: the coordinator itself), with
    /// `LABELMILL_FAULTS=<faults>` (default: none), on the scenario's shared cache unless told otherwise.
    @discardableResult
    func startWorker(_ name: String, coordinator: String? = nil, faults: String = "", cache: Cache = .shared,
                     environment: [String: String] = [:]) throws -> LabelmillProcess {
        var arguments = ["worker", "--coordinator", coordinator ?? url, "--token-file", tokenFile, "--name", name]
        if cache != .home { arguments += ["--cache", cacheDirectory(cache, name: name).path] }
        let worker = try LabelmillProcess.start(
            arguments, log: directory.appendingPathComponent("worker-\(name).log"),
            environment: ["LABELMILL_FAULTS": faults, "HOME": directory.appendingPathComponent("home").path, "XDG_CACHE_HOME": ""]
                .merging(environment) { $1 })
        workers.append(worker)
        return worker
    }

    /// Polls `condition` every 50 ms until it holds; throws (failing the test) when `timeout` passes first.
    func waitUntil(_ what: String, timeout: Duration = .seconds(60), _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await !condition() {
            guard ContinuousClock.now < deadline else {
                throw FaultSuiteError("\(name): timed out after \(timeout) waiting until \(what)\n\(logTails())")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Waits (up to `timeout`) until the job has ended (done, failed or cancelled), then until none of its tasks
    /// is leased or queued: a job is done once every image is, which can be before the lease of a worker that
    /// died after its last upload runs out (the sweeper then ends that task).
    func waitForJobEnd(timeout: Duration = .seconds(60)) async throws {
        try await waitUntil("job \(job) has ended", timeout: timeout) {
            (try? await admin.job(job).state.isFinished) ?? false
        }
        try await waitUntil("no task of job \(job) is leased or queued", timeout: .seconds(20)) {
            let tasks = try await admin.job(job).tasks
            return tasks[.leased, default: 0] == 0 && tasks[.queued, default: 0] == 0
        }
    }

    /// The whole ledger of the job.
    func events() async throws -> [LedgerEntry] { try await admin.events(job, limit: 10_000) }

    /// The last lines of every process's log, for failure messages.
    func logTails(lines: Int = 8) -> String {
        ([coordinator].compactMap { $0 } + workers).map { process in
            let tail = process.logText.split(separator: "\n").suffix(lines).joined(separator: "\n")
            return "--- \(process.log.lastPathComponent)\n\(tail)"
        }.joined(separator: "\n")
    }

    /// Kills the workers and the coordinator, runs the cleanups and removes the directory (kept when
    /// LABELMILL_FAULTS_KEEP is set, to read the logs).
    func shutdown() {
        workers.forEach { $0.kill() }
        // SIGKILL, not SIGTERM: a graceful stop waits out every long-poll claim still in flight (up to 20 s),
        // even those of workers killed a moment ago.
        coordinator?.kill()
        cleanups.reversed().forEach { $0() }
        if ProcessInfo.processInfo.environment["LABELMILL_FAULTS_KEEP"] == nil {
            try? FileManager.default.removeItem(at: directory)
        } else {
            print("fault suite: kept \(directory.path)")
        }
    }
}

struct FaultSuiteError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension FaultCluster {
    /// Serves `ids` (default: every image) from a `FixtureImageServer`, stopped at shutdown; returns it and
    /// the manifest URIs that point at it.
    func startImageServer(for ids: [String]? = nil) async throws -> (server: FixtureImageServer, uris: [String: String]) {
        let ids = ids ?? images.map(\.id)
        let server = try await FixtureImageServer.start(Dictionary(uniqueKeysWithValues: ids.map { ($0, Self.source(of: $0)) }))
        onShutdown { server.stop() }
        return (server, Dictionary(uniqueKeysWithValues: ids.map { ($0, server.uri($0)) }))
    }
}
