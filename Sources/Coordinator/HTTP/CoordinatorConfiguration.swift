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
    /// Label Studio's ML backend (docs/LABEL-STUDIO.md).
    public var labelStudio = LabelStudioConfiguration()

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
    public var databasePath: String { dataDirectory.appendingPathComponent(DataLayout.database).path }
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

/// How the coordinator serves as Label Studio's ML backend: the model and settings of the jobs its predictions make,
/// how long a prediction waits for them, and the Label Studio that serves some of the images (its URL and API key,
/// `LABEL_STUDIO_URL` and `LABEL_STUDIO_API_KEY` as Label Studio's own backends take them).
public struct LabelStudioConfiguration: Sendable {
    /// A model's name or id; nil: the coordinator's only model.
    public var model: String?
    /// The jobs' settings (the job defaults, `labelmill label`'s, unless given).
    public var settings = JobSettings()
    /// How long `/predict` waits for its images before answering with what is labeled (Label Studio gives up on a
    /// prediction after its `ML_TIMEOUT_PREDICT`, 100 s by default).
    public var wait: Duration = .seconds(80)
    public var url: String?
    public var apiKey: String?

    public init(model: String? = nil, settings: JobSettings = JobSettings(), wait: Duration = .seconds(80),
                environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.model = model
        self.settings = settings
        self.wait = wait
        url = environment["LABEL_STUDIO_URL"].flatMap { $0.isEmpty ? nil : $0 }
        apiKey = environment["LABEL_STUDIO_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
    }
}
