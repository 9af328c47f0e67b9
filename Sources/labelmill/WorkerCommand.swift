import ArgumentParser
import Dispatch
import Foundation
import Inference
import Worker

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker", abstract: "Pull tasks from a coordinator, label their images, upload the label maps.")

    @Option(help: "Coordinator URL, e.g. http://10.0.0.5:8080.")
    var coordinator: String

    @Option(help: "Bearer token file (default: the LABELMILL_TOKEN environment variable).")
    var tokenFile: String?

    @Option(help: "Worker name shown in the ledger and status (default: host name).")
    var name: String = ProcessInfo.processInfo.hostName

    @Option(help: "Cache directory for models and class embeddings, shared by the workers of a host ($XDG_CACHE_HOME/labelmill or ~/.cache/labelmill).")
    var cache: String = WorkerConfiguration.defaultCacheDirectory.path

    @Option(help: "Exit after this many seconds without work (default: run until stopped).")
    var idleExit: Double?

    @Option(help: "Seconds one image download from a URL may take (each attempt).")
    var imageTimeout: Double = 120

    @Option(help: "Largest image accepted, in MiB (downloaded or read from disk).")
    var maxImageMiB = 256

    @Option(help: "Largest image accepted, in pixels (decompression bombs).")
    var maxPixels = ImageCodec.defaultMaxPixels

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        // The model cache and temporary files are the worker's owner's alone.
        umask(0o077)
        let logger = logging.bootstrap()
        let configuration = WorkerConfiguration(
            coordinatorURL: coordinator, token: try CoordinatorClient.token(file: tokenFile), name: name,
            cacheDirectory: URL(fileURLWithPath: cache), maxPixels: maxPixels, idleExit: idleExit.map { .milliseconds(Int($0 * 1000)) },
            maxImageBytes: maxImageMiB << 20, imageTimeout: .milliseconds(Int(imageTimeout * 1000)))
        let stop = AtomicFlag()
        let signals = StopSignals(stop)
        defer { signals.cancel() }
        await WorkerLoop(configuration, logger: logger).run(stop: stop)
    }
}

/// SIGTERM and SIGINT set the stop flag instead of killing the process, so the worker can release its lease.
final class StopSignals {
    private let sources: [any DispatchSourceSignal]

    init(_ flag: AtomicFlag) {
        sources = [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { flag.set() }
            source.resume()
            return source
        }
    }

    func cancel() { sources.forEach { $0.cancel() } }
}
