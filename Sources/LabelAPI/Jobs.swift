/// `POST /v1/jobs`. The manifest is JSON Lines `{"id": ..., "uri": ...}` or plain lines of paths/URLs.
public struct CreateJobRequest: Codable, Sendable {
    public var name: String?
    /// A model name or id registered with `labelmill model add`.
    public var model: String
    public var classes: [String]
    public var settings: JobSettings
    /// A retried submit with the same key returns the job the first one created.
    public var idempotencyKey: String?
    /// The manifest itself, for small jobs; or else
    public var manifest: String?
    /// the id `PUT /v1/manifests` gave a streamed upload of it (any size; the coordinator never holds it in memory).
    public var manifestUpload: String?

    public init(name: String?, model: String, classes: [String], settings: JobSettings, idempotencyKey: String?,
                manifest: String? = nil, manifestUpload: String? = nil) {
        self.name = name
        self.model = model
        self.classes = classes
        self.settings = settings
        self.idempotencyKey = idempotencyKey
        self.manifest = manifest
        self.manifestUpload = manifestUpload
    }

    /// `settings` may be left out (all defaults), like each of its fields.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        model = try c.decode(String.self, forKey: .model)
        classes = try c.decode([String].self, forKey: .classes)
        settings = try c.decodeIfPresent(JobSettings.self, forKey: .settings) ?? JobSettings()
        idempotencyKey = try c.decodeIfPresent(String.self, forKey: .idempotencyKey)
        manifest = try c.decodeIfPresent(String.self, forKey: .manifest)
        manifestUpload = try c.decodeIfPresent(String.self, forKey: .manifestUpload)
    }
}

/// `PUT /v1/manifests`: a manifest stored for one `POST /v1/jobs`.
public struct ManifestUploadResponse: Codable, Sendable {
    public var upload: String
    public var bytes: Int64

    public init(upload: String, bytes: Int64) { (self.upload, self.bytes) = (upload, bytes) }
}

public struct CreateJobResponse: Codable, Sendable {
    public var id: String
    /// False when an idempotency key matched an earlier submit.
    public var created: Bool
    /// The images and tasks made so far: none while the job's manifest is being read (`state` `preparing`).
    public var images: Int
    public var tasks: Int
    public var state: JobState?

    public init(id: String, created: Bool, images: Int, tasks: Int, state: JobState? = nil) {
        self.id = id
        self.created = created
        self.images = images
        self.tasks = tasks
        self.state = state
    }
}

/// `GET /v1/jobs/{id}`: what `labelmill status --json` prints.
public struct JobStatus: Codable, Sendable {
    public struct Images: Codable, Sendable, Equatable {
        public var total, pending, running, done, failed: Int
        public init(total: Int, pending: Int, running: Int, done: Int, failed: Int) {
            (self.total, self.pending, self.running, self.done, self.failed) = (total, pending, running, done, failed)
        }
    }

    public struct ImageError: Codable, Sendable {
        public var id: String
        public var uri: String
        public var error: String
        public var at: Double
        public init(id: String, uri: String, error: String, at: Double) {
            (self.id, self.uri, self.error, self.at) = (id, uri, error, at)
        }
    }

    /// One reason a job's work failed, and how often.
    public struct Problem: Codable, Sendable, Equatable {
        public var scope: ProblemScope
        /// For images, the error with the image's URI and id replaced by `{uri}` and `{id}`.
        public var reason: String
        public var count: Int
        public var lastAt: Double
        /// A few of the workers (job-level) or image ids (image-level) it happened to.
        public var examples: [String]

        public init(scope: ProblemScope, reason: String, count: Int, lastAt: Double, examples: [String]) {
            (self.scope, self.reason, self.count, self.lastAt, self.examples) = (scope, reason, count, lastAt, examples)
        }
    }

    public var id: String
    public var name: String?
    /// done = every image labeled or permanently failed; failed = the job itself could not run (see `failure`).
    public var state: JobState
    public var images: Images
    public var tasks: [TaskState: Int]
    public var model: String
    public var classes: [String]
    public var settings: JobSettings
    public var createdAt: Double
    public var startedAt: Double?
    public var finishedAt: Double?
    /// Images labeled per second: over the last minute (or since the job started, when that is shorter) while it
    /// runs; the whole run's average once it has ended.
    public var imagesPerSecond: Double
    public var etaSeconds: Double?
    public var activeWorkers: Int
    public var leaseExpiries: Int
    public var retries: Int
    public var recentErrors: [ImageError]
    /// Whether the class embeddings are ready (tasks are claimable only then).
    public var embeddingsReady: Bool
    /// Why the job failed as a whole (state `failed`).
    public var failure: String?
    /// Recent job-level failures (workers that could not prepare the job) and image failures, grouped by reason.
    public var problems: [Problem]
    /// Workers are on the job, or hold its tasks, but no image finished for a while: see `problems`.
    public var stalled: Bool
    /// When an image of the job last finished (labeled or failed).
    public var lastProgressAt: Double?
    /// While the job is `preparing`: how much of its manifest is read so far.
    public var preparation: Preparation?

    /// How far a preparing job's manifest is read.
    public struct Preparation: Codable, Sendable, Equatable {
        public var bytesRead: Int64
        public var bytesTotal: Int64
        public var linesRead: Int
        public init(bytesRead: Int64, bytesTotal: Int64, linesRead: Int) {
            (self.bytesRead, self.bytesTotal, self.linesRead) = (bytesRead, bytesTotal, linesRead)
        }
    }

    public init(id: String, name: String?, state: JobState, images: Images, tasks: [TaskState: Int], model: String,
                classes: [String], settings: JobSettings, createdAt: Double, startedAt: Double?, finishedAt: Double?,
                imagesPerSecond: Double, etaSeconds: Double?, activeWorkers: Int, leaseExpiries: Int, retries: Int,
                recentErrors: [ImageError], embeddingsReady: Bool, failure: String? = nil, problems: [Problem] = [],
                stalled: Bool = false, lastProgressAt: Double? = nil, preparation: Preparation? = nil) {
        self.id = id
        self.name = name
        self.state = state
        self.images = images
        self.tasks = tasks
        self.model = model
        self.classes = classes
        self.settings = settings
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.imagesPerSecond = imagesPerSecond
        self.etaSeconds = etaSeconds
        self.activeWorkers = activeWorkers
        self.leaseExpiries = leaseExpiries
        self.retries = retries
        self.recentErrors = recentErrors
        self.embeddingsReady = embeddingsReady
        self.failure = failure
        self.problems = problems
        self.stalled = stalled
        self.lastProgressAt = lastProgressAt
        self.preparation = preparation
    }
}

/// `DELETE /v1/jobs/{job}`: what went with the job.
public struct DeleteJobResponse: Codable, Sendable {
    public var id: String
    public var images: Int
    public var labelFiles: Int
    public init(id: String, images: Int, labelFiles: Int) { (self.id, self.images, self.labelFiles) = (id, images, labelFiles) }
}

/// Whether a problem concerns the whole job or single images.
public enum ProblemScope: String, Codable, Sendable {
    case job
    case image
}

/// One line of `results.jsonl` (and of `GET /v1/jobs/{id}/results`).
public struct ImageResultLine: Codable, Sendable, Equatable {
    public var id: String
    public var uri: String
    public var status: ImageState
    public var attempts: Int
    public var error: String?
    public var sha256: String?
    /// Where a client reads the image when that is not `uri`: the coordinator's file route for a path it serves
    /// from `--image-root` (the way its workers read it).
    public var fetch: String?
    /// A job with an output (docs/STORAGE.md): where its worker wrote the label map (`s3://…/labels/<id>.png`, or
    /// `…/shards/<name>#<key>.label.png` for a shard's sample), and the confidence map with its digest.
    public var label: String?
    public var confidence: String?
    public var confidenceSHA256: String?

    public init(id: String, uri: String, status: ImageState, attempts: Int, error: String?, sha256: String?, fetch: String? = nil,
                label: String? = nil, confidence: String? = nil, confidenceSHA256: String? = nil) {
        (self.id, self.uri, self.status, self.attempts, self.error, self.sha256) = (id, uri, status, attempts, error, sha256)
        (self.fetch, self.label, self.confidence, self.confidenceSHA256) = (fetch, label, confidence, confidenceSHA256)
    }
}

/// One ledger entry.
public struct LedgerEntry: Codable, Sendable {
    public var seq: Int64
    public var at: Double
    public var kind: EventKind
    public var taskId: Int64?
    public var imageId: String?
    public var workerId: String?
    public var reason: String?
    /// `task.labeled`: how many images the lease labeled.
    public var images: Int?

    public init(seq: Int64, at: Double, kind: EventKind, taskId: Int64?, imageId: String?, workerId: String?, reason: String?,
                images: Int? = nil) {
        (self.seq, self.at, self.kind, self.taskId, self.imageId, self.workerId, self.reason) = (seq, at, kind, taskId, imageId, workerId, reason)
        self.images = images
    }
}
