/// The life of a task (a shard of consecutive images of one job, leased to one worker at a time).
///
/// ```
/// queued ──claim──▶ leased ──complete──▶ done
///   ▲                 │ │ └──lease expired maxAttempts times──▶ failed (dead letter)
///   └─release/expiry──┘ │
/// queued/leased ──cancel job──▶ cancelled
/// ```
/// - `queued`: claimable once its job has embeddings and `available_at <= now`.
/// - `leased`: owned by one worker through a lease token until `lease_expires_at`.
/// - `done`: the worker completed it (or nothing was left to do when its lease ended).
/// - `failed`: its lease expired `maxAttempts` times; its unfinished images failed with it.
/// - `cancelled`: its job was cancelled.
///
/// `done`, `failed` and `cancelled` are terminal: `retryFailed` puts failed images into new tasks instead.
public enum TaskState: String, Codable, Sendable, CaseIterable, StateMachine {
    case queued
    case leased
    case done
    case failed
    case cancelled

    public func canMove(to next: TaskState) -> Bool {
        switch (self, next) {
        case (.queued, .leased), (.queued, .cancelled): true
        case (.leased, .done), (.leased, .queued), (.leased, .failed), (.leased, .cancelled): true
        default: false
        }
    }
}
