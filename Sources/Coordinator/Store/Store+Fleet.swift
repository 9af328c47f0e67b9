import Foundation
import GRDB
import LabelAPI

/// Counts over every job, for `/metrics`: read from the store at scrape time, so they survive restarts.
public struct FleetCounts: Sendable, Equatable {
    public var images: [String: Int] = [:]
    public var tasks: [String: Int] = [:]
    public var jobs: [String: Int] = [:]
    /// Leases that ran out (the worker vanished or stalled), over all tasks ever.
    public var leaseExpiries = 0
    /// Leases beyond each task's first.
    public var retries = 0
    /// Workers seen in the last two minutes or holding a lease.
    public var activeWorkers = 0
}

extension Store {
    /// Throws unless the database can be read (readiness).
    public func ping(_ db: Database) throws {
        _ = try db.value(Int.self, "SELECT COUNT(*) FROM (SELECT 1 FROM jobs LIMIT 1)", [])
    }

    public func fleetCounts() throws(StoreError) -> FleetCounts {
        try read("counting the fleet's work") { db in try fleetCounts(db) }
    }

    public func fleetCounts(_ db: Database) throws -> FleetCounts {
        let at = timestamp()
        var counts = FleetCounts()
        let images = try db.one("""
            SELECT (SELECT COALESCE(SUM(unfinished), 0) FROM job_image_counts) AS unfinished,
                   (SELECT COUNT(*) FROM images INDEXED BY images_running JOIN tasks ON tasks.id = images.task_id
                    WHERE images.state = \(ImageState.running.sql) AND \(TaskState.sqlIn(.leased, .cancelled, column: "tasks.state"))) AS running,
                   (SELECT COALESCE(SUM(done), 0) FROM job_image_counts) AS done,
                   (SELECT COALESCE(SUM(failed), 0) FROM job_image_counts) AS failed
            """, [])
        if let images {
            let unfinished: Int = images["unfinished"], running: Int = images["running"]
            counts.images = ["pending": unfinished - running, "running": running, "done": images["done"], "failed": images["failed"]]
        }
        for state in TaskState.allCases { counts.tasks[state.rawValue] = 0 }
        for row in try db.all("""
            SELECT state, COUNT(*) AS n, SUM(lease_count) AS leases, SUM(lease_count > 0) AS leased, SUM(expiries) AS expiries
            FROM tasks GROUP BY state
            """, []) {
            counts.tasks[row["state"]] = row["n"]
            counts.leaseExpiries += row["expiries"] as Int
            counts.retries += (row["leases"] as Int) - (row["leased"] as Int)
        }
        for state in JobState.allCases { counts.jobs[state.rawValue] = 0 }
        for row in try db.all("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state", []) {
            counts.jobs[row["state"]] = row["n"]
        }
        counts.activeWorkers = try db.value(Int.self, """
            SELECT COUNT(*) FROM (
                SELECT id FROM workers WHERE last_seen_at >= ?
                UNION
                SELECT worker_id FROM tasks WHERE state = \(TaskState.leased.sql) AND lease_expires_at > ?)
            """, [at - 120, at]) ?? 0
        return counts
    }
}
