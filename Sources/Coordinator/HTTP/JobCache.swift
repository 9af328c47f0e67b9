import Foundation

/// The parts of a job that never change once its embeddings are set (model, classes, settings), kept in memory
/// so the hot path (claims, uploads) does not read and decode the job row on every request.
final class JobCache: @unchecked Sendable {
    private let lock = NSLock()
    private var jobs: [String: JobRecord] = [:]

    /// The job as it was when first read with its embeddings ready; state and times in it are not current.
    func settled(_ id: String, store: Store) throws -> JobRecord? {
        if let job = lock.withLock({ jobs[id] }) { return job }
        guard let job = try store.job(id) else { return nil }
        if job.embeddingsSHA256 != nil {
            lock.withLock {
                if jobs.count > 10_000 { jobs.removeAll() }
                jobs[id] = job
            }
        }
        return job
    }
}
