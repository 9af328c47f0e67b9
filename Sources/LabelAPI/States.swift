/// The states of jobs, tasks and images and the kinds of ledger events: one definition for the coordinator, which
/// moves them (its SQL guards are derived from `canMove(to:)`), and for every client, which reads them.

/// The life of a job.
///
/// ```
/// preparing ──manifest read──▶ queued ──claim──▶ running ──last image done/failed──▶ done
///   │  └──manifest read, a task was leased──────▶│ │ ▲                              │
///   │                      │ │                   │ │ └───────── retryFailed ────────┤
///   │                      │ └──────────────────▶│─┴──▶ failed ── retryFailed ──────┘ (back to running)
///   └─cancel/fail──▶       └──cancel──▶ cancelled ◀──cancel──┘
/// ```
/// - `preparing`: created; the coordinator is reading its manifest into images and tasks in small batches, so a
///   manifest of millions of lines holds up nobody else's claims or uploads. Its tasks can be claimed as they
///   appear (once the embeddings are ready), but it cannot be done before the whole manifest is read.
/// - `queued`: its manifest is read; waiting for its embeddings or a worker.
/// - `running`: at least one task was leased.
/// - `done`: every image is labeled or permanently failed (`retryFailed` brings it back to `running`).
/// - `failed`: the job itself cannot run (its manifest has no usable line, its class embeddings cannot be
///   computed, or workers could not prepare it `maxAttempts` times in a row: a blob missing, a model that will not
///   load); its unfinished images failed with the reason. `retryFailed` runs it again once the cause is fixed.
/// - `cancelled`: terminal; its tasks are cancelled and its live leases stale.
public enum JobState: String, Codable, Sendable, CaseIterable, CodingKeyRepresentable {
    case preparing
    case queued
    case running
    case done
    case failed
    case cancelled

    public func canMove(to next: JobState) -> Bool {
        switch (self, next) {
        case (.preparing, .queued), (.preparing, .running), (.preparing, .failed), (.preparing, .cancelled): true
        case (.queued, .running), (.queued, .failed), (.queued, .cancelled): true
        case (.running, .done), (.running, .failed), (.running, .cancelled): true
        case (.done, .running), (.failed, .running): true
        default: false
        }
    }

    /// Whether workers may still claim the job's tasks.
    public var isActive: Bool { self == .preparing || self == .queued || self == .running }
    /// Whether nothing more happens to the job unless someone retries it.
    public var isFinished: Bool { !isActive }
}

/// The life of a task (a shard of consecutive images of one job, leased to one worker at a time).
///
/// ```
/// queued ──claim──▶ leased ──complete──▶ done
///   ▲                 │ │ └──maxAttempts leases expired or failed──▶ failed (dead letter)
///   └─release/expiry──┘ │
/// queued/leased ──cancel job──▶ cancelled
/// queued/leased ──job failed──▶ failed
/// ```
/// - `queued`: claimable once its job has embeddings and `available_at <= now`.
/// - `leased`: owned by one worker through a lease token until `lease_expires_at`.
/// - `done`: the worker completed it (or nothing was left to do when its lease ended).
/// - `failed`: its leases expired or its workers could not prepare its job `maxAttempts` times, or its job
///   failed; its unfinished images failed with it.
/// - `cancelled`: its job was cancelled.
///
/// `done`, `failed` and `cancelled` are terminal: `retryFailed` puts failed images into new tasks instead.
public enum TaskState: String, Codable, Sendable, CaseIterable, CodingKeyRepresentable {
    case queued
    case leased
    case done
    case failed
    case cancelled

    public func canMove(to next: TaskState) -> Bool {
        switch (self, next) {
        case (.queued, .leased), (.queued, .failed), (.queued, .cancelled): true
        case (.leased, .done), (.leased, .queued), (.leased, .failed), (.leased, .cancelled): true
        default: false
        }
    }
}

/// The life of one image of a job.
///
/// ```
/// pending ──claim──▶ running ──recordLabel──▶ done
///    ▲ │               │ │
///    │ │  release/expiry/cancel
///    └─┼───────────────┘ └──failImage / complete without result / dead letter / job failed──▶ failed
///    ▲ └────────────────────────────────── job failed ──────────────────────────────────────▶ │
///    └──────────────────────────────────── retryFailed ───────────────────────────────────────┘
/// ```
/// - `pending`: waiting for its task to be leased.
/// - `running`: its task is leased; the worker is on it.
/// - `done`: a label is stored; final (a different label is refused, the same one is harmless).
/// - `failed`: with a reason; a bad image fails alone, never its task or job.
public enum ImageState: String, Codable, Sendable, CaseIterable, CodingKeyRepresentable {
    case pending
    case running
    case done
    case failed

    public func canMove(to next: ImageState) -> Bool {
        switch (self, next) {
        case (.pending, .running), (.pending, .failed): true
        case (.running, .done), (.running, .failed), (.running, .pending): true
        case (.failed, .pending): true
        default: false
        }
    }

    /// Done or failed: nothing more happens unless the job is retried.
    public var isFinished: Bool { self == .done || self == .failed }
}

/// The kinds of ledger events (`GET /v1/jobs/{job}/events`).
public enum EventKind: String, Codable, Sendable, CaseIterable {
    // job
    case jobCreated = "job.created"
    /// The job's manifest is read into images and tasks (it was `preparing`); the reason gives the counts.
    case jobPrepared = "job.prepared"
    case jobEmbeddings = "job.embeddings"
    case jobRunning = "job.running"
    case jobDone = "job.done"
    case jobCancelled = "job.cancelled"
    /// A worker (or the coordinator) could not prepare the job; the reason says why. Counts as an attempt.
    case jobProblem = "job.problem"
    /// The job failed as a whole; its unfinished images failed with it.
    case jobFailed = "job.failed"
    // task
    case taskCreated = "task.created"
    case taskLeased = "task.leased"
    case taskDone = "task.done"
    /// A lease ended having labeled `images` images of its task (one event a lease, not one an image).
    case taskLabeled = "task.labeled"
    case taskReleased = "task.released"
    /// leased → queued because the lease ran out (the attempt counts against maxAttempts).
    case leaseExpired = "lease.expired"
    /// leased → failed: the lease ran out for the last allowed time (dead letter).
    case taskFailed = "task.failed"
    case taskCancelled = "task.cancelled"
    /// A shard task's worker read the shard and declared its samples: new ones became running images.
    case taskSamples = "task.samples"
    // image
    /// Written by stores before schema version 8; a lease is now one `task.leased` event for all of its images.
    case imageRunning = "image.running"
    /// Written by stores before schema version 12; an image's labeling is now counted in its lease's `task.labeled`.
    case imageDone = "image.done"
    /// A done image took a different label (a job with an output rewrites a whole shard on a retry).
    case imageRelabeled = "image.relabeled"
    case imageFailed = "image.failed"
    case imagePending = "image.pending"
}
