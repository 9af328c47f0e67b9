import Foundation
import Inference
import LabelAPI

/// Everything `labelmill worker` is configured with; tests and `labelmill run` build the same struct.
public struct WorkerConfiguration: Sendable {
    public var coordinatorURL: String
    public var token: String
    /// Shown in the ledger and in `status`; also the worker id's prefix.
    public var name: String
    /// Models and class embeddings are downloaded once into here.
    public var cacheDirectory: URL
    public var maxPixels: Int
    /// Long-poll wait of each claim.
    public var pollSeconds: Double
    /// Stop after this long without work (nil: never; `labelmill run` stops its workers itself).
    public var idleExit: Duration?
    /// Largest image downloaded from a URL.
    public var maxImageBytes: Int
    /// Limit for one image download from a URL (each attempt).
    public var imageTimeout: Duration
    /// How long a worker that has never reached its coordinator keeps trying before it gives up.
    public var startupGrace: Duration = .seconds(60)
    /// The encoder's number format for jobs whose settings say `auto` (a job that names fp32 or bf16 gets it).
    public var precision: Precision = .auto
    /// Whether the worker divides the CPUs it may use with the other workers that share its cache (`CoreShare`):
    /// `labelmill worker` without `--threads`. Otherwise the thread count is left as it was set.
    public var sharesCores = false

    public init(coordinatorURL: String, token: String, name: String = ProcessInfo.processInfo.hostName,
                cacheDirectory: URL = WorkerConfiguration.defaultCacheDirectory,
                maxPixels: Int = ImageCodec.defaultMaxPixels, pollSeconds: Double = 20, idleExit: Duration? = nil,
                maxImageBytes: Int = 256 << 20, imageTimeout: Duration = .seconds(120)) {
        self.coordinatorURL = coordinatorURL
        self.token = token
        self.name = name
        self.cacheDirectory = cacheDirectory
        self.maxPixels = maxPixels
        self.pollSeconds = pollSeconds
        self.idleExit = idleExit
        self.maxImageBytes = maxImageBytes
        self.imageTimeout = imageTimeout
    }

    /// `$XDG_CACHE_HOME/labelmill`, else `$HOME/.cache/labelmill`: one cache for every worker of a user on a host.
    public static var defaultCacheDirectory: URL {
        let environment = ProcessInfo.processInfo.environment
        if let cache = environment["XDG_CACHE_HOME"], cache.hasPrefix("/") {
            return URL(fileURLWithPath: cache).appendingPathComponent("labelmill")
        }
        let home = environment["HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil } ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appendingPathComponent(".cache/labelmill")
    }
}
