import Foundation
import Inference
import LabelAPI
import Logging

/// `labelmill worker`: claim a task, label its images, upload them, complete; heartbeats keep the lease while
/// it works. Survives coordinator restarts (transport errors back off and retry), loses nothing on SIGTERM
/// (finishes the current image, releases the rest).
public struct WorkerLoop: Sendable {
    public let configuration: WorkerConfiguration
    public let workerId: String
    let client: CoordinatorClient
    let runner = InferenceRunner()
    let models: ModelCache
    let fetcher: ImageFetcher
    let logger: Logger

    public init(_ configuration: WorkerConfiguration, logger: Logger) {
        self.configuration = configuration
        workerId = "\(configuration.name)-\(UUID().uuidString.prefix(8).lowercased())"
        client = CoordinatorClient(baseURL: configuration.coordinatorURL, token: configuration.token)
        fetcher = ImageFetcher(client: client, maxBytes: configuration.maxImageBytes, timeout: configuration.imageTimeout)
        var logger = logger
        logger[metadataKey: "worker.id"] = "\(workerId)"
        self.logger = logger
        models = ModelCache(client: client, directory: configuration.cacheDirectory, runner: runner, logger: logger)
    }

    /// Runs until `stop` is set (or, with `idleExit`, until no work came for that long).
    public func run(stop: AtomicFlag) async {
        var failures = 0
        var unprepared = 0
        var idleSince = ContinuousClock.now
        logger.info("worker.started", metadata: ["coordinator": "\(configuration.coordinatorURL)"])
        while !stop.isSet {
            do {
                let wait = min(configuration.pollSeconds, configuration.idleExit.map { Double($0.components.seconds) + 1 } ?? .infinity)
                guard let task = try await client.claim(ClaimRequest(worker: workerId, name: configuration.name, waitSeconds: wait)) else {
                    if let idle = configuration.idleExit, ContinuousClock.now - idleSince >= idle { break }
                    continue
                }
                failures = 0
                switch await process(task, stop: stop) {
                case .processed:
                    unprepared = 0
                case .unprepared:
                    // Give others the task, and whatever broke here time to mend: 2 s, 4 s, ... up to a minute.
                    unprepared += 1
                    let pause = Duration.seconds(min(60, 1 << min(unprepared, 6)))
                    logger.info("worker.pause", metadata: ["seconds": "\(pause.components.seconds)"])
                    await Self.sleep(pause, unless: stop)
                }
                idleSince = ContinuousClock.now
            } catch {
                failures += 1
                let delay = client.retry.delay(afterAttempt: min(failures, 8), random: Double.random(in: 0..<1))
                logger.warning("worker.claim.failed", metadata: ["error": "\(error)", "retry.seconds": "\(delay)"])
                await Self.sleep(delay, unless: stop)
            }
        }
        logger.info("worker.stopped")
    }

    /// Sleeps `duration`, waking early when `stop` is set.
    static func sleep(_ duration: Duration, unless stop: AtomicFlag) async {
        let deadline = ContinuousClock.now + duration
        while !stop.isSet && ContinuousClock.now < deadline {
            try? await Task.sleep(for: min(.milliseconds(200), deadline - ContinuousClock.now))
        }
    }
}
