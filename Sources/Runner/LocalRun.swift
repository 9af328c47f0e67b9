import Coordinator
import Crypto
import Foundation
import Inference
import LabelAPI
import Logging
import ServiceLifecycle
import Worker
import Support

/// `labelmill run`: the whole system on one machine. An embedded coordinator on a SQLite file in the output
/// directory, local workers, then an export next to it. Rerunning with the same inputs resumes: the job is
/// found again by its idempotency key and only images not yet done are labeled.
public struct LocalRunConfiguration: Sendable {
    public var modelDirectory: URL
    public var classNames: [String]
    public var settings: JobSettings
    public var manifest: URL
    public var outputDirectory: URL
    public var workers: Int

    public init(modelDirectory: URL, classNames: [String], settings: JobSettings, manifest: URL, outputDirectory: URL, workers: Int = 1) {
        self.modelDirectory = modelDirectory
        self.classNames = classNames
        self.settings = settings
        self.manifest = manifest
        self.outputDirectory = outputDirectory
        self.workers = workers
    }
}

public enum LocalRun {
    public struct Summary: Sendable {
        public var job: JobStatus
        public var exported: Int
    }

    /// Runs the job to its end (done, failed or cancelled) and exports what it labeled. Settings out of range are
    /// refused before anything starts.
    public static func run(_ configuration: LocalRunConfiguration, logger: Logger,
                           progress: @escaping @Sendable (JobStatus) -> Void = { _ in }) async throws -> Summary {
        try configuration.settings.validate()
        let data = configuration.outputDirectory.appendingPathComponent(".labelmill")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let token = try localToken(in: data)
        let listening = AsyncStream.makeStream(of: Int.self)
        let app = try buildCoordinator(
            CoordinatorConfiguration(dataDirectory: data.appendingPathComponent("coordinator"), host: "127.0.0.1", port: 0,
                                     tokens: TokenSet(admin: token)),
            logger: logger, onListening: { listening.continuation.yield($0) })
        let services = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let server = Task { try await services.run() }
        do {
            var ports = listening.stream.makeAsyncIterator()
            guard let port = await ports.next() else { throw CurlError(.couldNotConnect, "the embedded coordinator did not start") }
            let summary = try await label(configuration, url: "http://127.0.0.1:\(port)", token: token, data: data, logger: logger,
                                          progress: progress)
            await services.triggerGracefulShutdown()
            try? await server.value
            return summary
        } catch {
            await services.triggerGracefulShutdown()
            try? await server.value
            throw error
        }
    }

    /// Registers the model, submits (or finds again) the job, runs the workers until it is done, exports.
    static func label(_ configuration: LocalRunConfiguration, url: String, token: String, data: URL, logger: Logger,
                      progress: @escaping @Sendable (JobStatus) -> Void) async throws -> Summary {
        let client = CoordinatorClient(baseURL: url, token: token)
        let model = try await client.addModel(name: "local", directory: configuration.modelDirectory)
        let manifest = try absoluteManifest(configuration.manifest)
        let key = idempotencyKey(manifest: manifest, model: model.id, classes: configuration.classNames, settings: configuration.settings)
        // Streamed like `submit` does, so a manifest of any size goes through.
        let manifestFile = data.appendingPathComponent("manifest.jsonl").path
        try CurlError.file { () throws(FileError) in try AtomicFile.write(Array(manifest.utf8), to: manifestFile) }
        let upload = try await client.uploadManifest(file: manifestFile)
        unlink(manifestFile)
        let job = try await client.createJob(CreateJobRequest(
            name: configuration.manifest.lastPathComponent, model: model.id, classes: configuration.classNames,
            settings: configuration.settings, idempotencyKey: key, manifestUpload: upload))

        let stop = AtomicFlag()
        let workers = (0..<max(configuration.workers, 1)).map { index in
            let worker = WorkerLoop(WorkerConfiguration(
                coordinatorURL: url, token: token, name: "local-\(index)", cacheDirectory: data.appendingPathComponent("cache"),
                pollSeconds: 1), logger: logger)
            return Task { await worker.run(stop: stop) }
        }
        var status = try await client.job(job.id)
        while status.state.isActive {
            progress(status)
            try await Task.sleep(for: .milliseconds(500))
            status = try await client.job(job.id)
        }
        progress(status)
        stop.set()
        for worker in workers { await worker.value }
        let exported = try await JobExport.run(client: client, job: job.id, to: configuration.outputDirectory)
        return Summary(job: status, exported: exported.labels)
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

    /// The manifest with relative paths made absolute (relative to the manifest's folder), since the local
    /// workers read files directly.
    static func absoluteManifest(_ url: URL) throws -> String {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw CurlError(.io, "cannot read manifest \(url.path)")
        }
        let base = url.deletingLastPathComponent()
        func absolute(_ uri: String) -> String {
            uri.contains("://") || uri.hasPrefix("/") || uri.isEmpty ? uri : base.appendingPathComponent(uri).standardizedFileURL.path
        }
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("{"), var object = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as? [String: Any],
               let uri = object["uri"] as? String {
                object["uri"] = absolute(uri)
                if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) {
                    return String(decoding: data, as: UTF8.self)
                }
            }
            return trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix("{") ? String(line) : absolute(trimmed)
        }.joined(separator: "\n")
    }

    static func idempotencyKey(manifest: String, model: String, classes: [String], settings: JobSettings) -> String {
        var hasher = SHA256()
        hasher.update(data: Data(manifest.utf8))
        hasher.update(data: Data(model.utf8))
        hasher.update(data: Data(classes.joined(separator: "\n").utf8))
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        hasher.update(data: (try? encoder.encode(settings)) ?? Data())
        return "run-" + SHA256Hex.hex(hasher.finalize())
    }
}
