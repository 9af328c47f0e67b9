import Foundation
import GRDB
import LabelAPI

/// One entry of a job's ledger: a state change of the job, one of its tasks or one of its images.
public struct LedgerEvent: Codable, Sendable, Equatable {
    /// Ledger order (global, increasing).
    public var seq: Int64
    public var at: Date
    public var kind: EventKind
    public var jobId: String
    public var taskId: Int64?
    public var imageId: String?
    public var workerId: String?
    public var reason: String?
    /// `task.labeled`: how many images the lease labeled.
    public var images: Int?
}

extension LedgerEvent: FetchableRecord {
    public init(row: Row) throws {
        seq = row["seq"]
        at = Date(timeIntervalSince1970: row["at"])
        let raw: String = row["kind"]
        guard let kind = EventKind(rawValue: raw) else { throw StoreError(.io, "event \(seq) has unknown kind \(raw)") }
        self.kind = kind
        jobId = row["job_id"]
        taskId = row["task_id"]
        imageId = row["image_id"]
        workerId = row["worker_id"]
        reason = row["reason"]
        images = row["images"]
    }
}
