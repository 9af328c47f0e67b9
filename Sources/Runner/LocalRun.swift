import Coordinator
import Foundation
import Inference
import LabelAPI
import LabelClient
import Logging
import NIOCore
import ServiceLifecycle
import Support
import Worker

/// `labelmill run`: the whole system on one machine. An embedded coordinator on a SQLite file in the output
/// directory, local workers, then an export next to it. Rerunning with the same inputs resumes: the job is
/// found again by its idempotency key, its failed images are retried, and only images not yet done are labeled.
public struct LocalRunConfiguration: Sendable {
    public var modelDirectory: URL
    public var classNames: [String]
    public var settings: JobSettings
    /// A manifest file, or a folder whose images (subfolders included) are the job.
    public var manifest: URL
    /// Instead of `manifest`: WebDataset shards (paths or URLs), each a task; their output shards go to `OUT/shards/`.
    public var shards: [String]?
    public var outputDirectory: URL
    public var workers: Int
    /// Where the local workers keep the model: one cache per user, shared by every run.
    public var cacheDirectory: URL
    /// Set (by SIGINT, say) to stop: the workers finish the image they are on and give their tasks back.
    public var stop: AtomicFlag
    /// `labelmill run --ui`: serve the dashboard while the job runs, and after it until `stop`.
    public var dashboard: LocalDashboard?

    public init(modelDirectory: URL, classNames: [String], settings: JobSettings, manifest: URL, outputDirectory: URL, workers: Int = 1,
                cacheDirectory: URL = WorkerConfiguration.defaultCacheDirectory, stop: AtomicFlag = AtomicFlag(),
                dashboard: LocalDashboard? = nil, shards: [String]? = nil) {
        self.shards = shards
        self.modelDirectory = modelDirectory
        self.classNames = classNames
        self.settings = settings
        self.manifest = manifest
        self.outputDirectory = outputDirectory
        self.workers = workers
        self.cacheDirectory = cacheDirectory
        self.stop = stop
        self.dashboard = dashboard
    }
}

/// The embedded coordinator's web dashboard for `labelmill run --ui`, on 127.0.0.1 only, signed in with the run's
/// own token (`.labelmill/token`, readable by its owner only).
public struct LocalDashboard: Sendable {
    /// The port on 127.0.0.1; 0 takes any free one.
    public var port: Int
    /// Given the dashboard's sign-in address (`http://127.0.0.1:PORT/?token=…`) once the coordinator listens.
    public var opened: @Sendable (String) -> Void
    /// Given the summary when the job has ended (or the run was stopped) and is exported; the dashboard then stays
    /// up until the run's stop flag is set.
    public var finished: @Sendable (LocalRun.Summary) -> Void

    public init(port: Int = 0, opened: @escaping @Sendable (String) -> Void, finished: @escaping @Sendable (LocalRun.Summary) -> Void) {
        (self.port, self.opened, self.finished) = (port, opened, finished)
    }
}

public enum LocalRun {
    public struct Summary: Sendable {
        public var job: JobStatus
        public var exported: Int
        /// A WebDataset job's output shards written to `OUT/shards/`.
        public var shards: Int = 0
        /// Failed images of an earlier run that this one tried again.
        public var retried: Int
        /// The run was stopped before the job ended; what is done is saved and exported.
        public var interrupted: Bool
    }

    /// Runs the job to its end (done, failed or cancelled), or until `configuration.stop`, and exports what it
    /// labeled. Everything the user gave (settings, classes, templates, the model directory, the manifest) is checked
    /// before anything is written; a start that fails leaves no `.labelmill` behind.
    public static func run(_ configuration: LocalRunConfiguration, logger: Logger,
                           progress: @escaping @Sendable (JobStatus) -> Void = { _ in }) async throws -> Summary {
        let input = try RunInput(configuration)
        let data = configuration.outputDirectory.appendingPathComponent(".labelmill")
        let fresh = !FileManager.default.fileExists(atPath: data.path)
        try CurlError.file { () throws(FileError) in
            try AtomicFile.createDirectories(configuration.outputDirectory.path)
            try AtomicFile.createDirectories(data.path, mode: 0o700)
        }
        var coordinator = CoordinatorConfiguration(dataDirectory: data.appendingPathComponent("coordinator"), host: "127.0.0.1",
                                                   port: configuration.dashboard?.port ?? 0, tokens: TokenSet(admin: ""))
        // `run --ui` is Label Studio's backend too (docs/LABEL-STUDIO.md): its predictions take the run's settings.
        var studioSettings = configuration.settings
        (studioSettings.tarShards, studioSettings.output) = (false, nil)
        coordinator.labelStudio = LabelStudioConfiguration(settings: studioSettings)
        let model: ModelRecord
        do {
            (model, _) = try input.prepareStore(at: coordinator, logger: logger)
        } catch {
            if fresh { try? FileManager.default.removeItem(at: data) }
            throw error
        }
        let token = try localToken(in: data)
        let listening = AsyncStream.makeStream(of: Int.self)
        var served = coordinator
        served.tokens = TokenSet(admin: token)
        let app = try buildCoordinator(served, logger: logger, onListening: { listening.continuation.yield($0) })
        let services = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let server = Task {
            defer { listening.continuation.finish() }
            try await services.run()
        }
        defer { server.cancel() }
        do {
            var ports = listening.stream.makeAsyncIterator()
            guard let port = await ports.next() else {
                do {
                    try await server.value  // the reason it stopped (a taken --ui-port, say)
                } catch let error as IOError where error.errnoCode == EADDRINUSE {
                    // Nothing was done: a first run leaves no .labelmill behind, as for any other bad start.
                    if fresh { try? FileManager.default.removeItem(at: data) }
                    throw LocalRunError("port \(coordinator.port) on 127.0.0.1 is in use: stop what listens there, or pick another "
                                        + "with --ui-port (0: any free port)")
                }
                throw CurlError(.couldNotConnect, "the embedded coordinator did not start")
            }
            let url = "http://127.0.0.1:\(port)"
            configuration.dashboard?.opened("\(url)/?token=\(token)")
            let summary = try await label(input, model: model, url: url, token: token, data: data, logger: logger, progress: progress)
            if let dashboard = configuration.dashboard {
                dashboard.finished(summary)
                while !configuration.stop.isSet { try? await Task.sleep(for: .milliseconds(200)) }
            }
            await services.triggerGracefulShutdown()
            try? await server.value
            return summary
        } catch {
            await services.triggerGracefulShutdown()
            try? await server.value
            throw error
        }
    }

    /// Submits (or finds again) the job, retries what failed before, runs the workers until the job ends or the run
    /// is stopped, exports.
    static func label(_ input: RunInput, model: ModelRecord, url: String, token: String, data: URL, logger: Logger,
                      progress: @escaping @Sendable (JobStatus) -> Void) async throws -> Summary {
        let configuration = input.configuration
        let client = CoordinatorClient(baseURL: url, token: token)
        let key = input.idempotencyKey(model: model.id)
        // Streamed like `submit` does, so a manifest of any size goes through.
        let manifestFile = data.appendingPathComponent("manifest.jsonl").path
        try CurlError.file { () throws(FileError) in try AtomicFile.write(Array(input.manifest.utf8), to: manifestFile) }
        let upload = try await client.uploadManifest(file: manifestFile)
        unlink(manifestFile)
        // The workers start while the coordinator reads the manifest (they claim tasks as they are made); a job
        // that fails meanwhile ends the loop below like any failed job.
        let job = try await client.createJob(CreateJobRequest(
            name: configuration.manifest.lastPathComponent, model: model.id, classes: configuration.classNames,
            settings: configuration.settings, idempotencyKey: key, manifestUpload: upload), waitUntilPrepared: false)
        var retried = 0
        if !job.created {
            let before = try await client.job(job.id)
            if before.images.failed > 0 {
                let after = try await client.retryFailed(job.id)
                retried = before.images.failed - after.images.failed
                logger.info("run.retrying", metadata: ["images.count": "\(retried)"])
            }
        }

        let stop = AtomicFlag(following: configuration.stop)
        let workers = (0..<configuration.workers).map { index in
            let worker = WorkerLoop(WorkerConfiguration(
                coordinatorURL: url, token: token, name: "local-\(index)", cacheDirectory: configuration.cacheDirectory,
                pollSeconds: 1), logger: logger)
            return Task { await worker.run(stop: stop) }
        }
        var status = try await client.job(job.id)
        while status.state.isActive && !configuration.stop.isSet {
            progress(status)
            try? await Task.sleep(for: .milliseconds(500))
            status = try await client.job(job.id)
        }
        // Stopped or done: the workers finish the image they are on and give back the rest of their tasks.
        stop.set()
        for worker in workers { _ = await worker.value }
        status = try await client.job(job.id)
        progress(status)
        let exported = try await JobExport.run(client: client, job: job.id, to: configuration.outputDirectory)
        return Summary(job: status, exported: exported.labels, shards: exported.shards, retried: retried, interrupted: status.state.isActive)
    }

    /// The embedded coordinator's token, made once per output directory and readable by its owner only.
    static func localToken(in directory: URL) throws -> String {
        let file = directory.appendingPathComponent("token")
        if let token = try? String(contentsOf: file, encoding: .utf8), !token.isEmpty { return token }
        let token = SHA256Hex.of((0..<32).map { _ in UInt8.random(in: 0...255) })
        guard FileManager.default.createFile(atPath: file.path, contents: Data(token.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw CurlError(.io, "cannot write \(file.path)")
        }
        return token
    }
}

/// Why `labelmill run` could not start, in words for the person who ran it.
public struct LocalRunError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
