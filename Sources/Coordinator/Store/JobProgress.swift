import Foundation
import LabelAPI

/// Where a job stands, computed from the store (so it survives restarts).
public struct JobProgress: Codable, Sendable, Equatable {
    public struct Images: Codable, Sendable, Equatable {
        public var pending = 0, running = 0, done = 0, failed = 0

        package init(pending: Int = 0, running: Int = 0, done: Int = 0, failed: Int = 0) {
            (self.pending, self.running, self.done, self.failed) = (pending, running, done, failed)
        }
        public var total: Int { pending + running + done + failed }
    }

    public struct Tasks: Codable, Sendable, Equatable {
        public var queued = 0, leased = 0, done = 0, failed = 0, cancelled = 0

        package init(queued: Int = 0, leased: Int = 0, done: Int = 0, failed: Int = 0, cancelled: Int = 0) {
            (self.queued, self.leased, self.done, self.failed, self.cancelled) = (queued, leased, done, failed, cancelled)
        }
        public var total: Int { queued + leased + done + failed + cancelled }
    }

    /// One reason things went wrong, with how often: a job-level failure (workers that could not prepare the job)
    /// or an image failure (grouped with the image's id and URI taken out of the message).
    public struct Problem: Codable, Sendable, Equatable {
        public var scope: ProblemScope
        public var reason: String
        public var count: Int
        public var lastAt: Date
        /// A few of the workers (job-level) or image ids (image-level) it happened to.
        public var examples: [String]

        package init(scope: ProblemScope, reason: String, count: Int, lastAt: Date, examples: [String]) {
            self.scope = scope; self.reason = reason; self.count = count; self.lastAt = lastAt; self.examples = examples
        }
    }

    /// A failed image, for the "recent errors" list.
    public struct ImageError: Codable, Sendable, Equatable {
        public var imageId: String
        public var uri: String
        public var error: String
        public var at: Date

        package init(imageId: String, uri: String, error: String, at: Date) {
            self.imageId = imageId; self.uri = uri; self.error = error; self.at = at
        }
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
    /// Images labeled in the last `recentSeconds`: the last minute, or since the job started if that is shorter
    /// (images/s = imagesDoneRecently / recentSeconds).
    public var imagesDoneRecently = 0
    public var recentSeconds: Double = 0
    /// The last 10 failed images, newest first.
    public var recentErrors: [ImageError] = []
    /// Job-level failures grouped by reason (the 5 most recent reasons), then image failures grouped by reason
    /// (among the last 1,000 failed images, the 10 most frequent).
    public var problems: [Problem] = []
    /// When an image of the job last finished (labeled or failed).
    public var lastProgressAt: Date?
    /// Why the job failed as a whole (state `failed`).
    public var failure: String?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
}
