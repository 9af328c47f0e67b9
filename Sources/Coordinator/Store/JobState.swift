/// The life of a job.
///
/// ```
/// queued ──claim──▶ running ──last image done/failed──▶ done
///   │                 │  ▲                                │
///   │                 │  └───────── retryFailed ──────────┘
///   └──cancel──▶ cancelled ◀──cancel──┘
/// ```
/// - `queued`: created; waiting for its embeddings or a worker.
/// - `running`: at least one task was leased.
/// - `done`: every image is labeled or permanently failed (`retryFailed` brings it back to `running`).
/// - `cancelled`: terminal; its tasks are cancelled and its live leases stale.
public enum JobState: String, Codable, Sendable, CaseIterable, StateMachine {
    case queued
    case running
    case done
    case cancelled

    public func canMove(to next: JobState) -> Bool {
        switch (self, next) {
        case (.queued, .running), (.queued, .cancelled): true
        case (.running, .done), (.running, .cancelled): true
        case (.done, .running): true
        default: false
        }
    }

    /// Whether workers may still claim the job's tasks.
    public var isActive: Bool { self == .queued || self == .running }
}
