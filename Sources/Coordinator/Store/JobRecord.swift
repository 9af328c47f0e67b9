import Foundation
import GRDB
import LabelAPI

/// A stored job. Everything but `state`, `embeddingsSHA256`, the times, the counts and the preparation's progress
/// is fixed at creation, so callers may cache it per id.
public struct JobRecord: Codable, Sendable, Equatable {
    /// Sortable by creation time: `job-` + 12 hex digits of Unix milliseconds + 8 random hex digits.
    public var id: String
    public var name: String?
    public var modelId: String
    public var classes: [String]
    public var options: JobSettings
    public var state: JobState
    public var idempotencyKey: String?
    public var embeddingsSHA256: String?
    /// Why the job failed as a whole (state `failed`).
    public var failure: String?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    /// Images and tasks so far: they grow while the job is `preparing`.
    public var imageCount: Int
    public var taskCount: Int
    /// While preparing: the manifest being read (relative to the data directory), nil once it is read.
    public var manifestPath: String?
    public var manifestBytes: Int64
    /// How much of the manifest is read into images and tasks: bytes, lines and refused lines.
    public var preparedBytes: Int64
    public var preparedLines: Int
    public var preparedRejected: Int
}

extension JobRecord: FetchableRecord {
    /// Reads a `SELECT * FROM jobs` row.
    public init(row: Row) throws {
        id = row["id"]
        name = row["name"]
        modelId = row["model_id"]
        classes = try JSONDecoder().decode([String].self, from: Data((row["classes"] as String).utf8))
        options = try JSONDecoder().decode(JobSettings.self, from: Data((row["options"] as String).utf8))
        guard let state = JobState(rawValue: row["state"]) else {
            throw StoreError(.io, "job \(id) has unknown state \(String(describing: row["state"] as String?))")
        }
        self.state = state
        idempotencyKey = row["idempotency_key"]
        embeddingsSHA256 = row["embeddings_sha256"]
        failure = row["failure"]
        createdAt = Date(timeIntervalSince1970: row["created_at"])
        startedAt = (row["started_at"] as Double?).map(Date.init(timeIntervalSince1970:))
        finishedAt = (row["finished_at"] as Double?).map(Date.init(timeIntervalSince1970:))
        imageCount = row["image_count"]
        taskCount = row["task_count"]
        manifestPath = row["manifest_path"]
        manifestBytes = row["manifest_bytes"]
        preparedBytes = row["prepared_bytes"]
        preparedLines = row["prepared_lines"]
        preparedRejected = row["prepared_rejected"]
    }
}
