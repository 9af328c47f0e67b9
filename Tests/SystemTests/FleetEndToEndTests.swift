import Foundation
import Inference
import LabelAPI
import LabelClient
import Support
import TestSupport
import Testing
import Worker

/// The fleet as the docs deploy it: several `labelmill worker` processes on one host sharing one model cache (the
/// default `~/.cache/labelmill`, or `/var/cache/labelmill` under systemd), started at the same instant on a fresh
/// cache. Each scenario asserts its outcome and a time bound: the job done with labels byte-identical to a local
/// `labelmill label` and cached files whose sha256 equal the originals, or the job failed with its reason.
@Suite(.serialized) struct FleetEndToEndTests {
    static let modelFiles = ["config.json", "model.safetensors", "vocab.json", "merges.txt"]

    /// sha256 of each source picture's label map from `labelmill label` on this machine (same settings as the jobs).
    static let localLabels = Task<[String: String], Never> {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-local-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try? await LabelmillProcess.runToEnd(
            ["label", "--model", LiveCoordinator.tinyModel.path, "--classes", FaultCluster.classes, "--short-side", "48",
             "--out", out.path, "--log-level", "error"] + FaultCluster.sources.map { LiveCoordinator.images.appendingPathComponent($0).path })
        var labels: [String: String] = [:]
        if result?.status == 0 {
            for source in FaultCluster.sources {
                labels[source] = try? SHA256Hex.of(file: out.appendingPathComponent("\(source.split(separator: ".")[0]).png").path)
            }
        }
        return labels
    }

    /// Checks every exported label map against `localLabels` and every file of `cache` against the originals.
    static func expectLabelsAndCache(_ cluster: FaultCluster, cache: URL, job: String) async throws {
        let localLabels = await Self.localLabels.value
        let out = cluster.directory.appendingPathComponent("export-\(job)")
        _ = try await LabelmillProcess.run(["export", "--coordinator", cluster.url, "--token-file", cluster.tokenFile, job, "--out", out.path])
        #expect(localLabels.count == 3, "labelmill label ran")
        for image in cluster.images {
            let source = FaultCluster.source(of: image.id).lastPathComponent
            let exported = try? SHA256Hex.of(file: out.appendingPathComponent("labels/\(image.id).png").path)
            #expect(exported != nil && exported == localLabels[source], "\(cluster.name): \(image.id) differs from `labelmill label` of \(source)")
        }
        let models = try FileManager.default.contentsOfDirectory(atPath: cache.appendingPathComponent("models").path)
        #expect(models.count == 1, "\(cluster.name): one model in the cache: \(models)")
        for file in modelFiles {
            let cached = try? SHA256Hex.of(file: cache.appendingPathComponent("models/\(models[0])/\(file)").path)
            let original = try SHA256Hex.of(file: LiveCoordinator.tinyModel.appendingPathComponent(file).path)
            #expect(cached == original, "\(cluster.name): cached \(file)")
        }
        for file in try FileManager.default.contentsOfDirectory(atPath: cache.appendingPathComponent("embeddings").path) where !file.hasPrefix(".") {
            let sha = try SHA256Hex.of(file: cache.appendingPathComponent("embeddings/\(file)").path)
            #expect(file == "\(sha).safetensors", "\(cluster.name): cached embeddings \(file)")
        }
        let leftovers = try FileManager.default.subpathsOfDirectory(atPath: cache.path).filter { $0.hasSuffix(".part") || $0.hasSuffix(".lock") || $0.hasSuffix(".tmp") }
        #expect(leftovers.isEmpty, "\(cluster.name): \(leftovers)")
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// Four workers on one host with the default cache and a fifth that is SIGKILLed while it holds a lease, all
    /// started together on a fresh cache, and one more started late. Every model file and the class embeddings are
    /// downloaded once for the host.
    @Test(.timeLimit(.minutes(4)))
    func fourWorkersShareTheDefaultCache() async throws {
        let cluster = try FaultCluster("fleet", imageCount: 60)
        defer { cluster.shutdown() }
        try await cluster.startCoordinator()
        try await cluster.submit(leaseSeconds: 3, maxAttempts: 5)
        let started = ContinuousClock.now
        let workers = try ["w1", "w2", "w3", "w4", "doomed"].map { name in
            try cluster.startWorker(name, faults: name == "doomed" ? "kill@upload:4" : "", cache: .home)
        }
        try await cluster.waitUntil("the doomed worker killed itself holding a lease", timeout: .seconds(60)) { workers[4].diedOf(SIGKILL) }
        let late = try cluster.startWorker("late", cache: .home)
        try await cluster.waitForJobEnd(timeout: .seconds(120))
        let took = ContinuousClock.now - started

        let status = try await cluster.admin.job(cluster.job)
        #expect(status.state == .done)
        #expect(status.images == JobStatus.Images(total: 60, pending: 0, running: 0, done: 60, failed: 0))
        let events = try await cluster.events()
        #expect(events.contains { $0.kind == .leaseExpired && ($0.workerId ?? "").hasPrefix("doomed") }, "it died holding a lease")
        #expect(events.labeledOnce(done: 60), "labeled \(events.labeledImages()) times for 60 images")
        try await Self.expectLabelsAndCache(cluster, cache: cluster.cacheDirectory(.home), job: cluster.job)

        // One download per file for the whole host: four model blobs, one embeddings file.
        let answers = try await cluster.answers()
        #expect(FaultCluster.count(answers, status: 200, route: "/v1/blobs/{sha}") == 4, "\(answers["/v1/blobs/{sha}"] ?? [:])")
        #expect(FaultCluster.count(answers, status: 200, route: "/v1/jobs/{job}/embeddings") == 1)
        #expect(late.logLines(containing: "cache.fetched") == 0, "the late worker found everything in the cache")
        #expect(workers.map { $0.logLines(containing: "cache.fetched") }.reduce(0, +) == 5)
        print("fleet-figures scenario=shared-default-cache workers=5+1 images=60 seconds=\(String(format: "%.1f", Self.seconds(took)))")
        #expect(took < .seconds(120))
    }

    /// Cached files damaged by hand (one grown, one changed in place at its size) are found before use, deleted and
    /// fetched again: the next job's labels are the same and the cache holds the originals again.
    @Test(.timeLimit(.minutes(3)))
    func aDamagedCacheFileIsReplacedNotUsed() async throws {
        let cluster = try FaultCluster("damaged-cache")
        defer { cluster.shutdown() }
        try await cluster.startCoordinator()
        try await cluster.submit()
        let first = cluster.job
        for name in ["a1", "a2"] { try cluster.startWorker(name) }
        try await cluster.waitForJobEnd()
        cluster.workers.forEach { $0.kill() }

        let cache = cluster.cacheDirectory()
        let model = try #require(try FileManager.default.contentsOfDirectory(atPath: cache.appendingPathComponent("models").path).first)
        let config = cache.appendingPathComponent("models/\(model)/config.json")
        let weights = cache.appendingPathComponent("models/\(model)/model.safetensors")
        let grown = try FileHandle(forWritingTo: config)
        try grown.seekToEnd()
        try grown.write(contentsOf: Data("{\"garbage\": true}".utf8))
        try grown.close()
        let changed = try FileHandle(forUpdating: weights)
        let size = try changed.seekToEnd()
        try changed.seek(toOffset: size / 2)
        let byte = try #require(try changed.read(upToCount: 1))
        try changed.seek(toOffset: size / 2)
        try changed.write(contentsOf: Data([byte[0] ^ 0xFF]))
        try changed.close()

        let started = ContinuousClock.now
        try await cluster.submit()
        for name in ["b1", "b2"] { try cluster.startWorker(name) }
        try await cluster.waitForJobEnd()
        let took = ContinuousClock.now - started
        #expect(try await cluster.admin.job(cluster.job).state == .done)
        #expect(try await cluster.admin.job(cluster.job).images.done == cluster.images.count)
        try await Self.expectLabelsAndCache(cluster, cache: cache, job: cluster.job)
        try await Self.expectLabelsAndCache(cluster, cache: cache, job: first)
        let noticed = cluster.workers.map { $0.logLines(containing: "cache.corrupt") }.reduce(0, +)
        #expect(noticed == 2, "both damaged files were noticed once")
        #expect(took < .seconds(60))
    }

    /// A model blob removed from the coordinator's data directory: with default leases and attempts, the job ends
    /// `failed` with that reason (in `status` too) well within two minutes, instead of going round for ever.
    @Test(.timeLimit(.minutes(3)))
    func aMissingBlobFailsTheJobWithItsReason() async throws {
        let cluster = try FaultCluster("missing-blob")
        defer { cluster.shutdown() }
        try await cluster.startCoordinator()
        try await cluster.submit(leaseSeconds: 60, maxAttempts: 3)
        let weights = try SHA256Hex.of(file: LiveCoordinator.tinyModel.appendingPathComponent("model.safetensors").path)
        try FileManager.default.removeItem(at: cluster.dataDirectory.appendingPathComponent("blobs/\(weights.prefix(2))/\(weights)"))

        let started = ContinuousClock.now
        for n in 1...3 { try cluster.startWorker("w\(n)") }
        try await cluster.waitForJobEnd(timeout: .seconds(120))
        let took = ContinuousClock.now - started

        let status = try await cluster.admin.job(cluster.job)
        #expect(status.state == .failed)
        #expect(status.failure?.contains("blob \(weights) is registered but its file") == true, "\(status.failure ?? "no reason")")
        #expect(status.images.failed == cluster.images.count && status.images.pending == 0 && status.images.running == 0)
        #expect(status.problems.first { $0.scope == .job }.map { $0.count >= 3 && $0.reason.contains("missing") } == true, "\(status.problems)")
        let shown = try await LabelmillProcess.runToEnd(["status", "--coordinator", cluster.url, "--token-file", cluster.tokenFile, cluster.job])
        #expect(shown.output.contains(": failed") && shown.output.contains("failed: could not be prepared 3 times"), "\(shown.output)")
        let watched = try await LabelmillProcess.runToEnd(["status", "--coordinator", cluster.url, "--token-file", cluster.tokenFile, cluster.job, "--watch"])
        #expect(watched.status == 1, "status --watch of a failed job exits non-zero")
        print("fleet-figures scenario=missing-blob seconds=\(String(format: "%.1f", Self.seconds(took)))")
        #expect(took < .seconds(120))
    }

    /// Settings out of range are refused before anything runs, naming the setting: 400 from the coordinator, a
    /// non-zero exit with the reason from `submit`, `run` and `label`, within seconds.
    @Test(.timeLimit(.minutes(2)))
    func settingsOutOfRangeAreRefusedUpFront() async throws {
        let cluster = try FaultCluster("bad-settings")
        defer { cluster.shutdown() }
        try await cluster.startCoordinator()
        try await cluster.submit()
        let job = CreateJobRequest(name: nil, model: "tiny", classes: ["cat"], settings: JobSettings(shortSide: 16384, longSide: 16384),
                                   idempotencyKey: nil, manifest: "img0.png")
        await expectStatus(400, containing: "settings.shortSide = 16384 is not allowed: 16 to 2048") {
            _ = try await cluster.admin.createJob(job)
        }
        let longName = CreateJobRequest(name: nil, model: "tiny", classes: [String(repeating: "cat ", count: 250_000)], settings: JobSettings(),
                                        idempotencyKey: nil, manifest: "img0.png")
        await expectStatus(400, containing: "at most 1000 fit the text context") { _ = try await cluster.admin.createJob(longName) }
        let wordy = CreateJobRequest(name: nil, model: "tiny", classes: [String(repeating: "cat ", count: 100)], settings: JobSettings(),
                                     idempotencyKey: nil, manifest: "img0.png")
        await expectStatus(400, containing: "does not fit the model's text context") { _ = try await cluster.admin.createJob(wordy) }

        let manifest = cluster.directory.appendingPathComponent("manifest.jsonl").path
        let submit = try await LabelmillProcess.runToEnd(["submit", "--coordinator", cluster.url, "--token-file", cluster.tokenFile, "--model", "tiny",
                                                    "--manifest", manifest, "--classes", "cat", "--short-side", "16384"])
        #expect(submit.status != 0 && submit.errors.contains("--short-side 16384 is out of range: 16 to 2048"), "\(submit.errors)")
        let out = cluster.directory.appendingPathComponent("run-out")
        let run = try await LabelmillProcess.runToEnd(["run", "--model", LiveCoordinator.tinyModel.path, "--classes", "cat", "--manifest", manifest,
                                                 "--out", out.path, "--prompt-denoise", "2"])
        #expect(run.status != 0 && run.errors.contains("--prompt-denoise 2.0 is out of range: 0.0 to 1.0"), "\(run.errors)")
        #expect(run.duration < .seconds(10))
        let label = try await LabelmillProcess.runToEnd(["label", "--model", LiveCoordinator.tinyModel.path, "--classes", "cat", "--out", out.path,
                                                   "--key-smoothing=-1", LiveCoordinator.images.appendingPathComponent("img_a.png").path])
        #expect(label.status != 0 && label.errors.contains("--key-smoothing -1.0 is out of range"), "\(label.errors)")
        #expect(try await cluster.admin.jobs().count == 1, "nothing was submitted")
    }

    /// `labelmill run` with a model whose weights are damaged: the job fails (its class embeddings cannot be
    /// computed) and run exits non-zero with the reason, within seconds, instead of waiting for ever.
    @Test(.timeLimit(.minutes(2)))
    func runEndsWithTheReasonWhenTheJobFails() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("run-fails-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = dir.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: LiveCoordinator.tinyModel, to: model)
        let weights = try FileHandle(forWritingTo: model.appendingPathComponent("model.safetensors"))
        try weights.truncate(atOffset: 4096)
        try weights.close()
        let manifest = dir.appendingPathComponent("manifest.txt")
        try LiveCoordinator.images.appendingPathComponent("img_a.png").path.write(to: manifest, atomically: true, encoding: .utf8)
        let run = try await LabelmillProcess.runToEnd(["run", "--model", model.path, "--classes", "cat,dog", "--manifest", manifest.path,
                                                 "--out", dir.appendingPathComponent("out").path, "--short-side", "48"])
        #expect(run.status != 0)
        #expect(run.errors.contains("the job failed: the class embeddings could not be computed"), "\(run.errors)")
        #expect(run.duration < .seconds(30))
    }

    /// Two workers on one cache divide the host's CPUs while both work on a task; the one left working alone takes
    /// them all again; a registration left by a worker killed in a task is removed, not counted. The images are
    /// held at a gate until each phase is set up, so who works when does not depend on timing.
    @Test(.timeLimit(.minutes(2)),
          .enabled(if: !ComputeThreads.quotaBound, "under a cgroup CPU quota a worker keeps the quota as its share and does not divide"))
    func workersOnOneCacheDivideTheCores() async throws {
        let cluster = try FaultCluster("cores", imageCount: 6)  // three tasks of two images
        defer { cluster.shutdown() }
        let (images, uris) = try await cluster.startImageServer()
        cluster.images.forEach { images.close($0.id) }
        let registrations = cluster.cacheDirectory(.shared).appendingPathComponent("workers")
        try FileManager.default.createDirectory(at: registrations, withIntermediateDirectories: true)
        try "host \(CoreShare.thisHost)\ncpus 0\n".write(to: registrations.appendingPathComponent("ghost.lock"), atomically: true, encoding: .utf8)
        func live() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: registrations.path)) ?? []).filter { $0.hasSuffix(".lock") }
        }
        func working() -> [Int] { (0..<3).filter { images.requests(for: "img\($0 * 2)") > 0 } }

        try await cluster.startCoordinator()
        try await cluster.submit(uris: uris)
        let workers = try ["w1", "w2"].map { try cluster.startWorker($0) }
        // Each worker registers when it takes a task, before it asks for the task's first image.
        try await cluster.waitUntil("both workers hold a task") { working().count == 2 }
        let first = working()
        for task in first { ["img\(task * 2)", "img\(task * 2 + 1)"].forEach(images.open) }
        let last = try #require(Set(0..<3).subtracting(first).first)
        try await cluster.waitUntil("one worker holds the last task, the other has left") {
            working().count == 3 && live().count == 1
        }
        ["img\(last * 2)", "img\(last * 2 + 1)"].forEach(images.open)
        try await cluster.waitForJobEnd()
        #expect(try await cluster.admin.job(cluster.job).images.done == 6)

        // worker.threads lines: (threads, workers sharing), in order.
        func shares(_ worker: LabelmillProcess) -> [(threads: Int, workers: Int)] {
            worker.logText.split(separator: "\n").filter { $0.contains("worker.threads") }.map { line in
                let fields = Dictionary(line.split(separator: " ").compactMap { field -> (String, Int)? in
                    let pair = field.split(separator: "=", maxSplits: 1)
                    return pair.count == 2 ? (String(pair[0]), Int(pair[1]) ?? -1) : nil
                }, uniquingKeysWith: { $1 })
                return (fields["threads"] ?? -1, fields["workers.sharing"] ?? -1)
            }
        }
        let available = ComputeThreads.available
        let together = workers.map { shares($0).first }
        #expect(together.allSatisfy { $0?.workers == 2 }, "each counted the other, not the dead registration: \(together)")
        #expect(together.compactMap { $0?.threads }.reduce(0, +) == max(available, 2), "together they take the CPUs once")
        #expect(workers.allSatisfy { shares($0).allSatisfy { $0.workers <= 2 } })
        // The last task's worker worked alone at its end (the other may also have, between its two images).
        let ends = workers.compactMap { shares($0).last }
        #expect(ends.contains { $0.workers == 1 && $0.threads == available }, "\(ends)")
        #expect(live().isEmpty, "the dead worker's file was removed; the live ones left theirs at the ends of their tasks")
    }
}
