import Coordinator
import Foundation
import Hummingbird
import LabelAPI
import LabelClient
import Logging
import ServiceLifecycle

/// A real coordinator on 127.0.0.1 (port 0) in this process, with its own data directory, and libcurl clients
/// for it. `stop()` shuts it down.
package final class LiveCoordinator: Sendable {
    package static let adminToken = "admin-token-for-tests"
    package static let workerToken = "worker-token-for-tests"
    /// The tiny random CLIP committed with the inference tests.
    package static let tinyModel = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("InferenceTests/Fixtures/tiny-clip")
    package static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("InferenceTests/Fixtures")

    /// The golden tests' photos.
    package static let images = fixtures.appendingPathComponent("golden/images")

    package let dataDirectory: URL
    package let url: String
    private let server: Task<Void, any Error>
    private let group: ServiceGroup

    package static func start(imageRoot: URL? = nil, sweepInterval: Duration = .milliseconds(200), limits: Int? = nil) async throws -> LiveCoordinator {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("coordinator-\(UUID().uuidString)")
        var logger = Logger(label: "test.coordinator")
        logger.logLevel = .warning
        let listening = AsyncStream.makeStream(of: Int.self)
        var configuration = CoordinatorConfiguration(dataDirectory: data, port: 0, tokens: TokenSet(admin: adminToken, worker: workerToken),
                                                     imageRoot: imageRoot, sweepInterval: sweepInterval)
        if let limits {
            (configuration.maxJSONBytes, configuration.maxLabelBytes, configuration.maxManifestBytes) = (limits, limits, Int64(limits))
        }
        let app = try buildCoordinator(configuration,
            logger: logger, onListening: { listening.continuation.yield($0) })
        // Stopped gracefully, as `serve` is on SIGTERM: a cancelled server logs "Waiting on child channel" at error.
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        let server = Task { try await group.run() }
        var ports = listening.stream.makeAsyncIterator()
        guard let port = await ports.next() else { throw CurlError(.couldNotConnect, "the coordinator stopped before it listened") }
        return LiveCoordinator(dataDirectory: data, url: "http://127.0.0.1:\(port)", server: server, group: group)
    }

    private init(dataDirectory: URL, url: String, server: Task<Void, any Error>, group: ServiceGroup) {
        self.dataDirectory = dataDirectory
        self.url = url
        self.server = server
        self.group = group
    }

    package func stop() { Task { [group] in await group.triggerGracefulShutdown() } }

    package var admin: CoordinatorClient { CoordinatorClient(baseURL: url, token: Self.adminToken, retry: .immediate(maxAttempts: 2)) }
    package var worker: CoordinatorClient { CoordinatorClient(baseURL: url, token: Self.workerToken, retry: .immediate(maxAttempts: 2)) }
    /// An admin client that sends each request once and waits as long as it takes, for tests that assert what one
    /// request did. With `admin`, a job creation queued behind another test's (the coordinator's job threads are
    /// per process, and this process runs many coordinators) can outlast the 30 s stall timeout; the retry then
    /// rightly answers `created: false`.
    package var patientAdmin: CoordinatorClient {
        let http = HTTPClient(configuration: .init(session: .init(requestTimeout: .seconds(600), stallTimeout: .seconds(600))))
        return CoordinatorClient(baseURL: url, token: Self.adminToken, http: http, retry: .none)
    }

    /// Registers the tiny model and submits a job; waits until its class embeddings are ready. The default lease
    /// outlasts any test on a loaded machine: the suites run side by side in one process, and with a 5 s one,
    /// leases ran out between a claim and its upload in four tests at different times (a 409 in place of what the
    /// test checks). A test about expiry sets its own.
    package func submit(_ manifest: String, classes: [String] = ["cat", "dog", "tree", "sky", "person"],
                settings: JobSettings = JobSettings(shortSide: 48, shardSize: 2, leaseSeconds: 120)) async throws -> String {
        _ = try await admin.addModel(name: "tiny", directory: Self.tinyModel)
        let job = try await admin.createJob(CreateJobRequest(name: "test", model: "tiny", classes: classes, settings: settings,
                                                             idempotencyKey: nil, manifest: manifest))
        for _ in 0..<200 {
            if try await admin.job(job.id).embeddingsReady { return job.id }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw CurlError(.timedOut, "embeddings of \(job.id) were not ready in 10 s")
    }
}
