/// The life of one image of a job.
///
/// ```
/// pending ──claim──▶ running ──recordLabel──▶ done
///    ▲                 │ │
///    └─release/expiry──┘ └──failImage / complete without result / dead letter──▶ failed
///    ▲                                                                             │
///    └──────────────────────────────── retryFailed ────────────────────────────────┘
/// ```
/// - `pending`: waiting for its task to be leased.
/// - `running`: its task is leased; the worker is on it.
/// - `done`: a label is stored; final (a different label is refused, the same one is harmless).
/// - `failed`: with a reason; a bad image fails alone, never its task or job.
public enum ImageState: String, Codable, Sendable, CaseIterable, StateMachine {
    case pending
    case running
    case done
    case failed

    public func canMove(to next: ImageState) -> Bool {
        switch (self, next) {
        case (.pending, .running): true
        case (.running, .done), (.running, .failed), (.running, .pending): true
        case (.failed, .pending): true
        default: false
        }
    }

    /// Done or failed: nothing more happens unless the job is retried.
    public var isFinished: Bool { self == .done || self == .failed }
}
