import Foundation
import LabelAPI
import Support

/// A shard task's output shard in a job with an output (docs/STORAGE.md): built in the worker's cache folder while
/// the task runs, one sample's members together (`<key>.label.png` and `<key>.conf.png`, or `<key>.error.txt`),
/// then written to the output whole, before the task completes. A worker killed on the way leaves only this local
/// file (removed by the next worker to start on the host) and nothing in the output.
final class ShardOutput: @unchecked Sendable {
    // @unchecked: `writer` is used only under `lock` (the upload of one sample runs beside the failure of the next).
    private let lock = NSLock()
    private let writer: TarWriter
    let path: String
    /// The output shard's key in the job's output.
    let key: String

    init(name: String, folder: URL, taskId: Int64) throws {
        try AtomicFile.createDirectories(folder.path)
        path = folder.appendingPathComponent("pid-\(getpid())-task-\(taskId)-output-\(UUID().uuidString).tar").path
        writer = try TarWriter(path)
        key = OutputLocation.shardKey(name)
    }

    func add(key: String, label: [UInt8], confidence: [UInt8]?) throws {
        try lock.withLock {
            try writer.add(key + ".label.png", label)
            if let confidence { try writer.add(key + ".conf.png", confidence) }
        }
    }

    func addError(key: String, reason: String) throws {
        try lock.withLock { try writer.add(key + ".error.txt", Array((reason + "\n").utf8)) }
    }

    /// Ends the archive; it is then complete at `path`.
    func finish() throws { try lock.withLock { try writer.finish() } }

    /// Removes the local file (an unfinished archive's temporary goes with its writer).
    func discard() { unlink(path) }
}
