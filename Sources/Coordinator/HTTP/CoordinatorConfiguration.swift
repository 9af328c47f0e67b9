import Foundation
import LabelAPI

/// Everything `labelmill serve` is configured with; tests build the same struct.
public struct CoordinatorConfiguration: Sendable {
    public var dataDirectory: URL
    public var host: String
    /// 0 picks a free port (tests); the bound port is reported through `onListening`.
    public var port: Int
    public var tokens: TokenSet
    /// Manifest entries that are relative paths are served from here, so remote workers need only the URL.
    public var imageRoot: URL?
    /// How often expired leases are swept back to the queue.
    public var sweepInterval: Duration
    /// Largest label PNG accepted.
    public var maxLabelBytes: Int
    /// The memory all upload bodies being read and checked may hold at once (see `UploadBudget`): uploads past it
    /// wait, so a fleet, or a hostile holder of the worker token, cannot grow the coordinator without bound.
    public var uploadMemoryBytes = 256 << 20
    /// Largest manifest upload (streamed to disk, so this bounds disk, not memory).
    public var maxManifestBytes: Int64 = 8 << 30
    /// Largest model file upload (streamed to disk as well).
    public var maxBlobBytes: Int64 = 64 << 30
    /// Largest JSON body: a job request with its classes, templates and a small inline manifest.
    public var maxJSONBytes: Int
    /// Largest manifest sent inside a job request; larger ones stream through `PUT /v1/manifests`.
    public var maxInlineManifestBytes = 1 << 20

    public init(dataDirectory: URL, host: String = "127.0.0.1", port: Int = 8080, tokens: TokenSet, imageRoot: URL? = nil,
                sweepInterval: Duration = .seconds(1), maxLabelBytes: Int = 64 << 20, maxJSONBytes: Int = 4 << 20) {
        self.dataDirectory = dataDirectory
        self.host = host
        self.port = port
        self.tokens = tokens
        self.imageRoot = imageRoot
        self.sweepInterval = sweepInterval
        self.maxLabelBytes = maxLabelBytes
        self.maxJSONBytes = maxJSONBytes
    }

    /// DATA/labelmill.sqlite
    public var databasePath: String { dataDirectory.appendingPathComponent("labelmill.sqlite").path }
}

/// The bearer tokens the coordinator accepts. `admin` may do everything; `worker`, when set, may only claim,
/// heartbeat, upload and read what workers read (models, embeddings, files).
public struct TokenSet: Sendable {
    public var admin: String
    public var worker: String?

    public init(admin: String, worker: String? = nil) {
        self.admin = admin
        self.worker = worker
    }

    /// Reads a token file: the first non-empty line, trimmed. An empty or unreadable file is an error.
    public static func read(file: String) throws -> String {
        guard let token = TokenFile.read(file) else { throw CoordinatorError(.badRequest, "cannot read a token from \(file)") }
        return token
    }
}
