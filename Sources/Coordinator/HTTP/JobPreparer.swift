import Foundation
import LabelAPI
import Logging
import Support

/// Reads preparing jobs' manifests into tasks (`Store.prepareBatch`), a batch of lines at a time, each batch its
/// own short transaction, so a manifest of millions of lines never keeps the fleet's claims, heartbeats and uploads
/// waiting for long: they queue for the write lock behind one batch at most. Batches are sized to take about
/// `batchTarget` each; several preparing jobs take turns, a batch each. Runs on a thread of its own (file reads
/// and the store's blocking writes), and picks up after a restart where each job stopped.
final class JobPreparer: @unchecked Sendable {
    // @unchecked: `batchSizes` and `failures` are touched only on `thread`, which is one thread.
    let store: Store
    let dataDirectory: URL
    let logger: Logger
    /// Why a URI cannot be fetched by this fleet (nil when it can): such a line is rejected alone.
    let refuse: @Sendable (String) -> String?
    /// Called with about how many tasks became claimable when a job's manifest is read.
    let onPrepared: @Sendable (_ jobId: String, _ claimable: Int) -> Void
    /// How long one batch should hold the write lock.
    let batchTarget: Duration
    private let thread = WorkThreads(name: "lm-preparer")
    private var batchSizes: [String: Int] = [:]
    private var failures: [String: Int] = [:]

    init(store: Store, dataDirectory: URL, logger: Logger, batchTarget: Duration = .milliseconds(50),
         refuse: @escaping @Sendable (String) -> String?, onPrepared: @escaping @Sendable (String, Int) -> Void) {
        (self.store, self.dataDirectory, self.logger, self.batchTarget) = (store, dataDirectory, logger, batchTarget)
        (self.refuse, self.onPrepared) = (refuse, onPrepared)
    }

    func schedule(_ jobId: String) {
        thread.submit { self.step(jobId) }
    }

    /// Schedules every job left preparing by a restart, and removes manifests no job has any more (a job deleted
    /// while the coordinator was down, or a submit that died before its job was made).
    func resumePending() throws {
        let preparing = try store.preparingJobs()
        let kept = Set(try store.manifestPaths().map { URL(fileURLWithPath: $0).lastPathComponent })
        let folder = dataDirectory.appendingPathComponent(DataLayout.manifests)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [] where !kept.contains(name) {
            unlink(folder.appendingPathComponent(name).path)
        }
        preparing.forEach { schedule($0.id) }
    }

    /// One batch of the job; schedules the next one behind every other job's.
    private func step(_ jobId: String) {
        do {
            let size = batchSizes[jobId] ?? 500
            let started = ContinuousClock.now
            let outcome = try store.prepareBatch(jobId, lines: size, refuse: refuse)
            batchSizes[jobId] = Self.nextSize(size, took: ContinuousClock.now - started, target: batchTarget)
            switch outcome {
            case .more:
                schedule(jobId)
            case .prepared(let state, let claimable):
                logger.info("job.prepared", metadata: ["job.id": "\(jobId)", "job.state": "\(state.rawValue)"])
                finish(jobId)
                onPrepared(jobId, claimable)
            case .stopped:
                finish(jobId)
            }
        } catch {
            logger.error("job.preparation.failed", metadata: ["job.id": "\(jobId)", "error": "\(error)"])
            failures[jobId, default: 0] += 1
            if let error = error as? StoreError, error.code == .io, failures[jobId, default: 0] < 60 {
                // A busy or full disk: try again in a second from what was committed, for a minute.
                Task {
                    try? await Task.sleep(for: .seconds(1))
                    schedule(jobId)
                }
            } else {
                try? store.failJob(jobId, reason: "its manifest could not be read: \(error)")
                finish(jobId)
            }
        }
    }

    private func finish(_ jobId: String) {
        batchSizes[jobId] = nil
        failures[jobId] = nil
    }

    /// The next batch's size: scaled toward `target`, by at most 2x a step, between 50 and 20,000 lines.
    static func nextSize(_ size: Int, took: Duration, target: Duration) -> Int {
        let ratio = took > .zero ? target / took : 2
        return min(20_000, max(50, Int(Double(size) * min(2, max(0.5, ratio)))))
    }
}
