import Foundation
import LabelAPI

/// Where a job stands, computed from the store (so it survives restarts).
public struct JobProgress: Codable, Sendable, Equatable {
    public struct Images: Codable, Sendable, Equatable {
        public var pending = 0, running = 0, done = 0, failed = 0
        public var total: Int { pending + running + done + failed }
    }

    public struct Tasks: Codable, Sendable, Equatable {
        public var queued = 0, leased = 0, done = 0, failed = 0, cancelled = 0
        public var total: Int { queued + leased + done + failed + cancelled }
    }

    /// A failed image, for the "recent errors" list.
    public struct ImageError: Codable, Sendable, Equatable {
        public var imageId: String
        public var uri: String
        public var error: String
        public var at: Date
    }

    public var jobId: String
    public var state: JobState
    public var images = Images()
    public var tasks = Tasks()
    /// Leases granted so far.
    public var attempts = 0
    /// Leases beyond the first of each task.
    public var retries = 0
    public var leaseExpiries = 0
    /// Distinct workers holding a live lease on the job or seen on it in the last 2 × leaseSeconds.
    public var activeWorkers = 0
    /// Images labeled in the last 60 s (images/s = this / 60).
    public var imagesDoneLastMinute = 0
    /// The last 10 failed images, newest first.
    public var recentErrors: [ImageError] = []
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
}
