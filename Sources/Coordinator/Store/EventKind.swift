/// The kinds of ledger events. Open (a struct, not an enum) so that a ledger written by a newer version still
/// reads; the store itself writes only these.
public struct EventKind: RawRepresentable, Codable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
    public var description: String { rawValue }

    // job
    public static let jobCreated = EventKind(rawValue: "job.created")
    public static let jobEmbeddings = EventKind(rawValue: "job.embeddings")
    public static let jobRunning = EventKind(rawValue: "job.running")
    public static let jobDone = EventKind(rawValue: "job.done")
    public static let jobCancelled = EventKind(rawValue: "job.cancelled")
    // task
    public static let taskCreated = EventKind(rawValue: "task.created")
    public static let taskLeased = EventKind(rawValue: "task.leased")
    public static let taskDone = EventKind(rawValue: "task.done")
    public static let taskReleased = EventKind(rawValue: "task.released")
    /// leased → queued because the lease ran out (the attempt counts against maxAttempts).
    public static let leaseExpired = EventKind(rawValue: "lease.expired")
    /// leased → failed: the lease ran out for the last allowed time (dead letter).
    public static let taskFailed = EventKind(rawValue: "task.failed")
    public static let taskCancelled = EventKind(rawValue: "task.cancelled")
    // image
    public static let imageRunning = EventKind(rawValue: "image.running")
    public static let imageDone = EventKind(rawValue: "image.done")
    public static let imageFailed = EventKind(rawValue: "image.failed")
    public static let imagePending = EventKind(rawValue: "image.pending")
}
