/// `GET /v1/jobs/{job}/activity`: who labeled a job, and how fast over time (the dashboard's workers table and
/// throughput chart). Kept as running counts when images finish, so it reads in constant time at any job size.
public struct JobActivity: Codable, Sendable, Equatable {
    public struct Worker: Codable, Sendable, Equatable {
        /// The worker's name (its `--name`, else its id).
        public var name: String
        public var imagesDone: Int
        public var imagesFailed: Int
        /// Images it labeled per second over the last minute it worked on the job.
        public var imagesPerSecond: Double
        public var lastSeenAt: Double
        /// The task it holds on this job now, if any.
        public var currentTask: Int64?

        public init(name: String, imagesDone: Int, imagesFailed: Int, imagesPerSecond: Double, lastSeenAt: Double, currentTask: Int64?) {
            (self.name, self.imagesDone, self.imagesFailed, self.imagesPerSecond, self.lastSeenAt, self.currentTask) =
                (name, imagesDone, imagesFailed, imagesPerSecond, lastSeenAt, currentTask)
        }
    }

    /// Images finished in one minute of wall time.
    public struct Minute: Codable, Sendable, Equatable {
        /// The minute's start, seconds since 1970.
        public var at: Double
        public var done: Int
        public var failed: Int

        public init(at: Double, done: Int, failed: Int) { (self.at, self.done, self.failed) = (at, done, failed) }
    }

    public var workers: [Worker]
    /// Oldest first; the last 24 hours that had any activity, at most.
    public var minutes: [Minute]
    /// Pixels per class summed over the job's label maps (255 is void), most first, with how many label maps
    /// contain each: counted once when each label was validated.
    public var classes: [ClassPixels]
    /// The label maps those sums cover (labels recorded before the coordinator counted classes are not in them).
    public var countedImages: Int

    public init(workers: [Worker], minutes: [Minute], classes: [ClassPixels], countedImages: Int) {
        (self.workers, self.minutes, self.classes, self.countedImages) = (workers, minutes, classes, countedImages)
    }
}
