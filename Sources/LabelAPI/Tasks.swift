/// `POST /v1/tasks/claim`.
public struct ClaimRequest: Codable, Sendable {
    public var worker: String
    public var name: String?
    /// Long poll: wait up to this long for work before answering 204.
    public var waitSeconds: Double

    public init(worker: String, name: String? = nil, waitSeconds: Double = 0) {
        self.worker = worker
        self.name = name
        self.waitSeconds = waitSeconds
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        worker = try c.decode(String.self, forKey: .worker)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        waitSeconds = try c.decodeIfPresent(Double.self, forKey: .waitSeconds) ?? 0
    }
}

/// What a worker needs to label one task: its images and the job's model, classes and settings.
public struct TaskAssignment: Codable, Sendable {
    public struct Image: Codable, Sendable, Equatable {
        public var id: String
        /// Where the worker fetches the image: http(s) URL, file:// URL or absolute path, or a coordinator
        /// `/v1/files/...` path (relative to the coordinator URL).
        public var uri: String
        public init(id: String, uri: String) { (self.id, self.uri) = (id, uri) }
    }

    public var taskId: Int64
    public var jobId: String
    public var leaseToken: String
    public var leaseSeconds: Double
    public var attempt: Int
    public var modelId: String
    public var embeddingsSHA256: String
    public var settings: JobSettings
    public var classCount: Int
    public var images: [Image]
    /// A WebDataset job's task: where the worker reads the shard (as `Image.uri`). Its samples are declared with
    /// `POST /v1/tasks/{task}/samples`, which says which of them to label; `images` is empty.
    public var shard: String?

    public init(taskId: Int64, jobId: String, leaseToken: String, leaseSeconds: Double, attempt: Int, modelId: String,
                embeddingsSHA256: String, settings: JobSettings, classCount: Int, images: [Image], shard: String? = nil) {
        self.taskId = taskId
        self.jobId = jobId
        self.leaseToken = leaseToken
        self.leaseSeconds = leaseSeconds
        self.attempt = attempt
        self.modelId = modelId
        self.embeddingsSHA256 = embeddingsSHA256
        self.settings = settings
        self.classCount = classCount
        self.images = images
        self.shard = shard
    }
}

/// One sample of a shard: its WebDataset key (the member names up to their first dot) and the image id it gets.
public struct ShardSample: Codable, Sendable, Equatable {
    public var id: String
    public var key: String
    public init(id: String, key: String) { (self.id, self.key) = (id, key) }

    /// The id of the sample `key` of shard `shardName`: the shard's name without `.tar`, `/`, then the key, under
    /// the rule for ids from paths (`ImageID.from`): `train-000001.tar`, key `cats/0001` → `train-000001_cats_0001`.
    public static func id(shard shardName: String, key: String) -> String {
        let stem = shardName.hasSuffix(".tar") ? String(shardName.dropLast(4)) : shardName
        return ImageID.from(stem + "/" + key)
    }
}

/// A sample the coordinator could not take, and why.
public struct SampleRefusal: Codable, Sendable, Equatable {
    public var key: String
    public var reason: String
    public init(key: String, reason: String) { (self.key, self.reason) = (key, reason) }
}

/// `POST /v1/tasks/{task}/samples`: every sample of the leased shard, in shard order.
public struct SampleDeclaration: Codable, Sendable {
    public var leaseToken: String
    public var samples: [ShardSample]
    public init(leaseToken: String, samples: [ShardSample]) { (self.leaseToken, self.samples) = (leaseToken, samples) }
}

public struct SampleDeclarationResponse: Codable, Sendable {
    /// The ids to label in this lease, in shard order: those not done or failed by an earlier one; in a job with an
    /// output, whose worker writes the whole output shard, the done ones too (labeled again, to the same bytes).
    public var todo: [String]
    public var refused: [SampleRefusal]
    /// A job with an output: the samples an earlier lease failed, with the reasons (for their `.error.txt`).
    public var failed: [SampleRefusal]

    public init(todo: [String], refused: [SampleRefusal], failed: [SampleRefusal] = []) {
        (self.todo, self.refused, self.failed) = (todo, refused, failed)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        todo = try c.decode([String].self, forKey: .todo)
        refused = try c.decode([SampleRefusal].self, forKey: .refused)
        failed = try c.decodeIfPresent([SampleRefusal].self, forKey: .failed) ?? []
    }
}

/// `POST /v1/tasks/{task}/images/{image}/receipt`, in a job with an output (docs/STORAGE.md): the worker wrote the
/// image's label map (and confidence map) there with its own credentials, and tells the coordinator what it wrote.
/// The image is then done, as with an upload; `labelmill verify` checks the storage against the receipts.
public struct LabelReceipt: Codable, Sendable, Equatable {
    public var leaseToken: String
    /// Where under the job's output (`OutputLocation.keys`); the coordinator refuses any other key.
    public var key: String
    /// The label PNG's digest and length, and the map's size (the source image's).
    public var sha256: String
    public var bytes: Int64
    public var width: Int
    public var height: Int
    /// Pixels per class value in the map (255 is void), for the gallery and the job's class sums.
    public var classes: [ClassPixels]
    /// The confidence map's digest, in a job that saves them.
    public var confidenceSHA256: String?

    public init(leaseToken: String, key: String, sha256: String, bytes: Int64, width: Int, height: Int, classes: [ClassPixels],
                confidenceSHA256: String? = nil) {
        (self.leaseToken, self.key, self.sha256, self.bytes, self.width, self.height) = (leaseToken, key, sha256, bytes, width, height)
        (self.classes, self.confidenceSHA256) = (classes, confidenceSHA256)
    }
}

/// Body of heartbeat, complete and release.
public struct LeaseRequest: Codable, Sendable {
    public var leaseToken: String
    public var reason: String?
    public init(leaseToken: String, reason: String? = nil) { (self.leaseToken, self.reason) = (leaseToken, reason) }
}

public struct HeartbeatResponse: Codable, Sendable {
    public var leaseSeconds: Double
    public init(leaseSeconds: Double) { self.leaseSeconds = leaseSeconds }
}

/// `POST /v1/tasks/{task}/images/{image}/fail`: the image is bad (corrupt, missing, unreachable, too large).
public struct ImageFailure: Codable, Sendable {
    public var leaseToken: String
    public var reason: String
    public init(leaseToken: String, reason: String) { (self.leaseToken, self.reason) = (leaseToken, reason) }
}

/// `POST /v1/tasks/{task}/fail`: the worker cannot prepare the task's job (its model will not download, verify or
/// load, a blob is missing, the class embeddings are corrupt, a setting is out of range). Not an image's fault: the
/// report counts as an attempt, and a job that keeps failing this way ends `failed` with the reason.
public struct TaskFailure: Codable, Sendable {
    public var leaseToken: String
    public var reason: String
    public init(leaseToken: String, reason: String) { (self.leaseToken, self.reason) = (leaseToken, reason) }
}

public struct TaskFailureResponse: Codable, Sendable {
    /// `requeued` (another worker may try), `taskFailed` (its images failed: out of attempts) or `jobFailed`.
    public var outcome: String
    public init(outcome: String) { self.outcome = outcome }
}

/// What kind of failure an error body reports (the coordinator's `CoordinatorError` fixes each one's HTTP status).
/// The coordinator answers with these, and its clients tell failures apart by them, never by the message.
public enum ErrorCode: String, Codable, Sendable, CaseIterable {
    case badRequest = "bad_request"
    case unauthorized
    case forbidden
    case notFound = "not_found"
    case methodNotAllowed = "method_not_allowed"
    /// A result that would overwrite a different valid one, or a state that does not allow the change.
    case conflict
    /// The lease token is not the task's current one, or it expired: the worker no longer holds the task.
    case leaseLost = "lease_lost"
    case invalidUpload = "invalid_upload"
    case tooLarge = "too_large"
    case unavailable
    case internalError = "internal"
}

/// Error bodies: `{"error": {"code": ..., "message": ...}}`; `code` is an `ErrorCode`'s raw value.
public struct ErrorBody: Codable, Sendable {
    public struct Detail: Codable, Sendable {
        public var code: String
        public var message: String
    }

    public var error: Detail
    public init(code: String, message: String) { error = Detail(code: code, message: message) }
}
