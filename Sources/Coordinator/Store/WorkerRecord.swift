import Foundation
import LabelAPI

/// A worker as the store has seen it (workers appear by claiming).
public struct WorkerRecord: Codable, Sendable, Equatable {
    public var id: String
    public var firstSeenAt: Date
    public var lastSeenAt: Date
    /// Leases granted to it, ever.
    public var leaseCount: Int
    /// Tasks it holds now (leased, whether or not the lease has run out unswept).
    public var activeLeases: Int
}
