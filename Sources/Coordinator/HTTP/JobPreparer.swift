import Foundation
import Logging
import LabelAPI

/// Reads preparing jobs' manifests into images and tasks (`Store.prepareBatch`), a batch of lines at a time, each
/// batch its own short transaction, so a manifest of millions of lines never keeps the fleet's claims, heartbeats
/// and uploads waiting for long: they queue for the write lock behind one batch at most. Batches are sized to take
/// about `batchTarget` each; several preparing jobs take turns, a batch each. Runs on a serial queue of its own
/// (file reads and the store's blocking writes), and picks up after a restart where each job stopped.
final class JobPreparer: @unchecked Sendable {
    // @unchecked: `readers`, `batchSizes` and `failures` are touched only on `queue`.
    let store: Store
    let dataDirectory: URL
    let logger: Logger
    /// Why a URI cannot be fetched by this fleet (nil when it can): such a line is rejected alone.
    let refuse: @Sendable (String) -> String?
    /// Called with about how many tasks became claimable when a job's manifest is read.
    let onPrepared: @Sendable (_ jobId: String, _ claimable: Int) -> Void
    /// How long one batch should hold the write lock.
    let batchTarget: Duration
    private let queue = DispatchQueue(label: "labelmill.coordinator.preparation", qos: .utility)
    private var readers: [String: ManifestFile.Iterator] = [:]
    private var batchSizes: [String: Int] = [:]
    private var failures: [String: Int] = [:]

    init(store: Store, dataDirectory: URL, logger: Logger, batchTarget: Duration = .milliseconds(50),
         refuse: @escaping @Sendable (String) -> String?, onPrepared: @escaping @Sendable (String, Int) -> Void) {
        (self.store, self.dataDirectory, self.logger, self.batchTarget) = (store, dataDirectory, logger, batchTarget)
        (self.refuse, self.onPrepared) = (refuse, onPrepared)
    }

    /// Where a new job's manifest is kept while it is read, relative to the data directory.
    static func manifestPath(jobId: String) -> String { "manifests/\(jobId).manifest" }

    func schedule(_ jobId: String) {
        queue.async { self.step(jobId) }
    }

    /// Schedules every job left preparing by a restart, and removes manifests no preparing job reads any more
    /// (a job cancelled, failed or deleted before the preparer saw it).
    func resumePending() throws {
        let preparing = try store.preparingJobs()
        let kept = Set(preparing.compactMap(\.manifestPath).map { URL(fileURLWithPath: $0).lastPathComponent })
        let folder = dataDirectory.appendingPathComponent("manifests")
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [] where !kept.contains(name) {
            unlink(folder.appendingPathComponent(name).path)
        }
        preparing.forEach { schedule($0.id) }
    }

    /// One batch of the job; schedules the next one behind every other job's.
    private func step(_ jobId: String) {
        do {
            guard var reader = try reader(jobId) else { return }
            let size = batchSizes[jobId] ?? 500
            var items: [ManifestItem] = []
            items.reserveCapacity(size)
            while items.count < size, let item = reader.next() { items.append(item) }
            let atEnd = items.count < size
            let started = ContinuousClock.now
            let outcome = try store.prepareBatch(jobId, items: items, through: reader.offset, line: reader.line, atEnd: atEnd, refuse: refuse)
            batchSizes[jobId] = Self.nextSize(size, took: ContinuousClock.now - started, target: batchTarget)
            readers[jobId] = reader
            switch outcome {
            case .more:
                queue.async { self.step(jobId) }
            case .prepared(let state, let claimable):
                logger.info("job.prepared", metadata: ["job.id": "\(jobId)", "job.state": "\(state.rawValue)", "lines": "\(reader.line)"])
                finish(jobId)
                onPrepared(jobId, claimable)
            case .stopped:
                finish(jobId)
            }
        } catch {
            logger.error("job.preparation.failed", metadata: ["job.id": "\(jobId)", "error": "\(error)"])
            readers[jobId] = nil
            failures[jobId, default: 0] += 1
            if let error = error as? StoreError, error.code == .io, failures[jobId, default: 0] < 60 {
                // A busy or full disk: try again in a second from what was committed, for a minute.
                queue.asyncAfter(deadline: .now() + 1) { self.step(jobId) }
            } else {
                try? store.failJob(jobId, reason: "its manifest could not be read: \(error)")
                finish(jobId)
            }
        }
    }

    /// The job's open reader, opened where its preparation stopped; nil when it is not preparing any more.
    private func reader(_ jobId: String) throws -> ManifestFile.Iterator? {
        if let reader = readers[jobId] { return reader }
        guard let job = try store.job(jobId), job.state == .preparing, let relative = job.manifestPath else {
            finish(jobId)
            return nil
        }
        let reader = ManifestFile.Iterator(path: dataDirectory.appendingPathComponent(relative).path,
                                           offset: job.preparedBytes, line: job.preparedLines)
        guard reader.isOpen else {
            try store.failJob(jobId, reason: "its manifest \(relative) is missing from the data directory")
            return nil
        }
        return reader
    }

    private func finish(_ jobId: String) {
        readers[jobId] = nil
        batchSizes[jobId] = nil
        failures[jobId] = nil
        unlink(dataDirectory.appendingPathComponent(Self.manifestPath(jobId: jobId)).path)
    }

    /// The next batch's size: scaled toward `target`, by at most 2x a step, between 50 and 20,000 lines.
    static func nextSize(_ size: Int, took: Duration, target: Duration) -> Int {
        let ratio = took > .zero ? target / took : 2
        return min(20_000, max(50, Int(Double(size) * min(2, max(0.5, ratio)))))
    }
}
