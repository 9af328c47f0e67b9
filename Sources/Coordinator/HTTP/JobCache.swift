import Foundation
import GRDB
import Synchronization
import LabelAPI

/// The parts of a job that never change once its embeddings are set (model, classes, settings), kept in memory
/// so the hot path (claims, uploads) does not read and decode the job row on every request.
final class JobCache: Sendable {
    private let jobs = Mutex<[String: JobRecord]>([:])
    /// Each job's settings as JSON, encoded once (`AssignmentJSON`).
    private let settings = Mutex<[String: [UInt8]]>([:])

    /// `job`'s settings as the claim's answer carries them.
    func settingsJSON(_ job: JobRecord) throws -> [UInt8] {
        if let bytes = settings.withLock({ $0[job.id] }) { return bytes }
        let encoder = WireJSON.encoder()
        let bytes = [UInt8](try encoder.encode(job.options))
        settings.withLock { settings in
            if settings.count > 10_000 { settings.removeAll() }
            settings[job.id] = bytes
        }
        return bytes
    }

    /// The job as it was when first read with its embeddings ready; state and times in it are not current.
    func settled(_ db: Database, _ id: String, store: Store) throws -> JobRecord? {
        if let job = jobs.withLock({ $0[id] }) { return job }
        guard let job = try store.job(db, id) else { return nil }
        if job.embeddingsSHA256 != nil {
            jobs.withLock { jobs in
                if jobs.count > 10_000 { jobs.removeAll() }
                jobs[id] = job
            }
        }
        return job
    }
}
