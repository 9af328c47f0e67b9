import Foundation
import LabelAPI

/// What a worker gets from `Store.claim`: a leased task and the images of it that are not done yet.
public struct ClaimedTask: Codable, Sendable, Equatable {
    public struct Image: Codable, Sendable, Equatable {
        public var id: String
        public var uri: String

        package init(id: String, uri: String) {
            self.id = id; self.uri = uri
        }
    }

    public var taskId: Int64
    public var jobId: String
    /// The fence: every later call for this lease must present it. 128 random bits, lowercase hex.
    public var token: String
    public var expiresAt: Date
    /// This lease's number for the task: 1 for the first lease, 2 for the next (released leases count here too).
    public var attempt: Int
    /// The job's model and embeddings; the rest of the job (classes, options) is fixed, fetch it once per job id.
    public var modelId: String
    public var embeddingsSHA256: String
    /// In manifest order.
    public var images: [Image]
    /// A WebDataset job's task: the shard to read (its samples are declared by the worker, `Store.declareSamples`).
    public var shard: String?
}
