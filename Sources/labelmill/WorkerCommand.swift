import ArgumentParser
import Dispatch
import Foundation
import Inference
import LabelAPI
import LabelClient
import Support
import Worker

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker", abstract: "Pull tasks from a coordinator, label their images, upload the label maps.",
        discussion: """
            Several workers on one machine share the cache. A worker whose token the
            coordinator refuses, or whose URL is not a coordinator's, exits with the reason
            (status 1).

            Example:
              labelmill worker --coordinator http://10.0.0.5:8080 \\
                --token-file worker-token --name box-3
            """)

    @OptionGroup var client: ClientOptions

    @Option(help: "Worker name shown in the ledger, status and metrics (default: this machine's host name).")
    var name: String?

    @Option(help: "Cache directory for models and class embeddings, shared by the workers of a host (default: $XDG_CACHE_HOME/labelmill or ~/.cache/labelmill).")
    var cache: String?

    @Option(help: "Exit after this many seconds without work (default: run until stopped).")
    var idleExit: Double?

    @Option(help: "Seconds one image download from a URL may take (each attempt).")
    var imageTimeout: Double = 120

    @Option(name: .customLong("max-image-mib"), help: "Largest image accepted, in MiB (downloaded or read from disk).")
    var maxImageMiB = 256

    @Option(help: "Largest image accepted, in pixels (decompression bombs).")
    var maxPixels = ImageCodec.defaultMaxPixels

    @Option(help: "The encoder's number format for jobs that leave it to the worker (settings.precision auto): fp32, bf16, or auto (bf16 where it is faster than fp32 on this CPU).")
    var precision: Precision = .auto

    @Option(help: "Compute threads (default: the CPUs this worker may use, divided among the workers on this host that share its cache).")
    var threads: Int?

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if let idleExit, !(idleExit > 0) { throw ValidationError("--idle-exit must be a positive number of seconds") }
        if !(imageTimeout > 0) { throw ValidationError("--image-timeout must be a positive number of seconds") }
        if maxImageMiB < 1 { throw ValidationError("--max-image-mib must be at least 1") }
        if maxPixels < 1 { throw ValidationError("--max-pixels must be at least 1") }
        if let threads, threads < 1 { throw ValidationError("--threads \(threads) is out of range: at least 1") }
    }

    func run() async throws {
        // The model cache and temporary files are the worker's owner's alone.
        umask(0o077)
        let logger = logging.bootstrap()
        var configuration = WorkerConfiguration(
            coordinatorURL: try client.url(), token: try CoordinatorClient.token(file: client.tokenFile),
            name: name ?? ProcessInfo.processInfo.hostName,
            cacheDirectory: cache.map { URL(fileURLWithPath: $0) } ?? WorkerConfiguration.defaultCacheDirectory, maxPixels: maxPixels,
            idleExit: idleExit.map { .milliseconds(Int($0 * 1000)) },
            maxImageBytes: maxImageMiB << 20, imageTimeout: .milliseconds(Int(imageTimeout * 1000)))
        configuration.precision = precision
        if let threads { ComputeThreads.set(threads) } else { configuration.sharesCores = true }
        let stop = AtomicFlag()
        let signals = StopSignals(stop)
        defer { signals.cancel() }
        if case .refused(let reason) = await WorkerLoop(configuration, logger: logger).run(stop: stop) {
            throw CLIError(reason)
        }
    }
}

/// SIGTERM and SIGINT set the stop flag instead of killing the process, so the worker can release its lease.
/// A second signal quits at once (exit status 128 + its number), for when finishing the current image takes too
/// long to wait for.
final class StopSignals {
    private let sources: [any DispatchSourceSignal]

    init(_ flag: AtomicFlag) {
        sources = [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if flag.isSet { exit(128 + number) }
                flag.set()
                Console.standardError.log("labelmill: stopping; an image being labeled is finished first (again to quit now)\n")
            }
            source.resume()
            return source
        }
    }

    func cancel() { sources.forEach { $0.cancel() } }
}
