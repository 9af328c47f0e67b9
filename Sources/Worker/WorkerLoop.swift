import Foundation
import Inference
import LabelAPI
import LabelClient
import Logging
import Support

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
    /// Divides the host's cores with the other workers that share the cache (nil: the thread count stays as set).
    let cores: CoreShare?
    /// Where the registration of `cores` is written and its peers' are read (a cache on NFS may be slow): never on
    /// Swift's cooperative threads.
    static let fileThread = WorkThreads(name: "lm-worker-files", count: 1)
    let logger: Logger

    public init(_ configuration: WorkerConfiguration, logger: Logger) {
        self.configuration = configuration
        workerId = "\(configuration.name)-\(UUID().uuidString.prefix(8).lowercased())"
        client = CoordinatorClient(baseURL: configuration.coordinatorURL, token: configuration.token)
        fetcher = ImageFetcher(client: client, maxBytes: configuration.maxImageBytes, timeout: configuration.imageTimeout)
        var logger = logger
        logger[metadataKey: "worker.id"] = "\(workerId)"
        self.logger = logger
        models = ModelCache(client: client, directory: configuration.cacheDirectory, precision: configuration.precision,
                            runner: runner, logger: logger)
        // A container's CPU quota is its worker's share already.
        cores = configuration.sharesCores && !ComputeThreads.quotaBound
            ? CoreShare(directory: configuration.cacheDirectory.appendingPathComponent("workers"), name: workerId,
                        cpus: ComputeThreads.affinity, available: ComputeThreads.available)
            : nil
    }

    /// Why the worker ended.
    public enum Exit: Sendable, Equatable {
        /// Asked to stop (SIGTERM, SIGINT, `labelmill run` ending).
        case stopped
        /// No work came for `idleExit`.
        case idle
        /// The coordinator will not take this worker: a rejected token, a URL that is not a coordinator, TLS against
        /// plain HTTP, or no answer at all since the start. The reason says which.
        case refused(String)
    }

    /// Runs until `stop` is set, or until no work came for `idleExit`, or until the coordinator will never take
    /// this worker. Transport failures after the first answer are retried with backoff (a coordinator restarts);
    /// before it, for `startupGrace`.
    public func run(stop: AtomicFlag) async -> Exit {
        var failures = 0
        var unprepared = 0
        var idleSince = ContinuousClock.now
        var answered = false
        let started = ContinuousClock.now
        logger.info("worker.started", metadata: ["coordinator": "\(configuration.coordinatorURL)"])
        removeShardsOfGoneWorkers()
        switch fetcher.s3 {
        case .success(let s3): logger.debug("worker.s3", metadata: ["s3": "\(s3.configuration.summary)"])
        case .failure(let error): logger.warning("worker.s3.unusable", metadata: ["reason": "\(error)"])
        }
        defer { logger.info("worker.stopped") }
        while !stop.isSet {
            do {
                let wait = min(configuration.pollSeconds, configuration.idleExit.map { Double($0.components.seconds) + 1 } ?? .infinity)
                let request = ClaimRequest(worker: workerId, name: configuration.name, waitSeconds: wait)
                let claimed = try await Self.unlessStopped(stop) { [client] in try await client.claim(request) }
                if stop.isSet && claimed == nil { break }
                answered = true
                guard let task = claimed else {
                    if let idle = configuration.idleExit, ContinuousClock.now - idleSince >= idle { return .idle }
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
                if let refusal = Self.refusal(error, answered: answered, since: started, grace: configuration.startupGrace) {
                    // The command ends with the reason as its one line; the log keeps it as detail.
                    logger.info("worker.refused", metadata: ["reason": "\(refusal)"])
                    return .refused(refusal)
                }
                if let idle = configuration.idleExit, ContinuousClock.now - idleSince >= idle { return .idle }
                failures += 1
                let delay = client.retry.delay(afterAttempt: min(failures, 8), random: Double.random(in: 0..<1))
                logger.warning("worker.claim.failed", metadata: ["error": "\(error)", "retry.seconds": "\(delay)"])
                await Self.sleep(delay, unless: stop)
            }
        }
        return .stopped
    }

    /// A claim failure no retry will mend, as a reason for the person who started the worker; nil to retry.
    static func refusal(_ error: any Error, answered: Bool, since started: ContinuousClock.Instant, grace: Duration) -> String? {
        guard let error = error as? ClientError else { return nil }
        switch error.kind {
        case .unauthorized, .forbidden:
            // In the coordinator's words (rough edges, item 9).
            return "the coordinator refused this worker's token (\(error.message)): check --token-file or LABELMILL_TOKEN"
        case .notFound, .refused where error.status == 405:
            return "\(error.message) (is the --coordinator URL a labelmill coordinator's?)"
        case .transport(.tlsOrProtocol):
            return error.description
        case .transport(.couldNotConnect), .transport(.timedOut):
            guard !answered && ContinuousClock.now - started >= grace else { return nil }
            return "\(error.message) (no answer from the coordinator since the worker started \(grace.components.seconds) s ago: is the URL right, and is it running?)"
        default:
            return nil
        }
    }

    /// `body` (a long-poll claim), cancelled as soon as `stop` is set, so an idle worker stops at once instead of at
    /// the end of its poll; nil when it was. A task it got all the same is returned (the loop then gives it back).
    static func unlessStopped(_ stop: AtomicFlag, _ body: @escaping @Sendable () async throws -> TaskAssignment?) async throws -> TaskAssignment? {
        let outcome = await withTaskGroup(of: Result<TaskAssignment?, any Error>?.self) { group in
            group.addTask {
                do { return .success(try await body()) } catch { return .failure(error) }
            }
            group.addTask {
                while !stop.isSet && !Task.isCancelled { try? await Task.sleep(for: .milliseconds(100)) }
                return nil
            }
            var claim: Result<TaskAssignment?, any Error>?
            for await result in group {
                if let result { claim = result }
                group.cancelAll()
            }
            return claim
        }
        switch outcome {
        case .success(let task)?: return task
        case .failure(let error)?: if stop.isSet { return nil } else { throw error }
        case nil: return nil
        }
    }

    /// Sleeps `duration`, waking early when `stop` is set.
    static func sleep(_ duration: Duration, unless stop: AtomicFlag) async {
        let deadline = ContinuousClock.now + duration
        while !stop.isSet && ContinuousClock.now < deadline {
            try? await Task.sleep(for: min(.milliseconds(200), deadline - ContinuousClock.now))
        }
    }
}
