import Foundation
import LabelAPI
import LabelClient
import Logging
import Support

/// The images of a task and how to get each one's bytes: fetched from its URI, or read from a shard.
struct ImageSource: Sendable {
    let images: [TaskAssignment.Image]
    let load: @Sendable (TaskAssignment.Image) async throws -> [UInt8]
    /// Runs when the task is over (a downloaded shard's file goes).
    let close: @Sendable () -> Void
    /// A shard's samples that failed before labeling began, with why: earlier leases' (in a job with an output) and
    /// the whole shard's, when it cannot be read. Their `.error.txt` members go in an output shard the worker writes.
    var failed: [SampleRefusal] = []
}

extension WorkerLoop {
    /// The sample that stands for a whole shard that cannot be read (or is damaged part of the way): it fails with
    /// the reason, so the shard's failure shows in `status` and its output shard holds `__shard__.error.txt`.
    static let wholeShardKey = "__shard__"

    /// Reads a WebDataset shard and declares its samples (see docs/SHARDS.md): the members with image extensions,
    /// one a key (the first, when a key has several); other members are ignored. Returns the samples this lease
    /// is to label, or nil when the task was dropped (the coordinator did not answer, or the lease is lost).
    func openShard(_ uri: String, of task: TaskAssignment, logger: Logger) async -> ImageSource? {
        let name = Self.shardName(uri)
        var samples: [ShardSample] = []
        var entries: [String: TarReader.Entry] = [:]
        var damage: String?
        var file: (path: String, temporary: Bool)?
        var reader: TarReader?
        do {
            file = try await shardFile(uri, task: task)
            reader = try TarReader(path: file!.path, maxMemberBytes: configuration.maxImageBytes)
            do {
                while let entry = try reader!.nextEntry() {
                    guard let (key, ext) = ShardSpec.split(member: entry.name), ShardSpec.imageExtensions.contains(ext.lowercased()) else { continue }
                    let id = ShardSample.id(shard: name, key: key)
                    guard entries[id] == nil else {
                        if samples.last?.key != key {
                            logger.warning("shard.sample.repeated", metadata: ["shard": "\(name)", "key": "\(key)",
                                                                              "reason": "another sample of this shard has the id \(id)"])
                        }
                        continue
                    }
                    entries[id] = entry
                    samples.append(ShardSample(id: id, key: key))
                }
            } catch {
                damage = samples.isEmpty ? "\(uri) cannot be read as a shard: \(error)" : "\(name) is damaged after \(samples.count) samples: \(error)"
            }
        } catch {
            damage = "\(uri) cannot be read as a shard: \(error)"
        }
        if damage != nil { samples.append(ShardSample(id: ShardSample.id(shard: name, key: Self.wholeShardKey), key: Self.wholeShardKey)) }
        let close: @Sendable () -> Void = { [file] in
            guard let file, file.temporary else { return }
            for leftover in [file.path, file.path + ".part", file.path + ".lock"] { unlink(leftover) }
        }
        let declared: SampleDeclarationResponse
        do {
            declared = try await client.declareSamples(task: task.taskId, token: task.leaseToken, samples: samples)
        } catch {
            logger.error("shard.declare.failed", metadata: ["shard": "\(name)", "error": "\(error)"])
            close()
            return nil
        }
        for refusal in declared.refused {
            logger.warning("shard.sample.refused", metadata: ["shard": "\(name)", "key": "\(refusal.key)", "reason": "\(refusal.reason)"])
        }
        var todo = Set(declared.todo)
        var failed = declared.failed
        if let damage, let whole = samples.last, todo.remove(whole.id) != nil {
            logger.error("shard.unreadable", metadata: ["shard": "\(name)", "reason": "\(damage)"])
            do {
                try await client.failImage(task: task.taskId, image: whole.id, token: task.leaseToken, reason: damage)
                failed.append(SampleRefusal(key: whole.key, reason: damage))
            } catch {
                close()
                return nil
            }
        }
        let images = samples.filter { todo.contains($0.id) }.map { TaskAssignment.Image(id: $0.id, uri: uri + "#" + $0.key) }
        logger.info("shard.read", metadata: ["shard": "\(name)", "samples": "\(samples.count)", "todo": "\(images.count)"])
        let shared = SharedReader(reader)
        let located = entries
        return ImageSource(images: images, load: { image in
            guard let entry = located[image.id] else { throw WorkerError("\(image.id) is not a sample of \(name)") }
            return try shared.bytes(of: entry)
        }, close: close, failed: failed)
    }

    /// The shard's name (its URI's last part); of a shard the coordinator serves, as its manifest names it.
    static func shardName(_ uri: String) -> String {
        let name = ShardSpec.name(of: uri)
        return uri.hasPrefix(Routes.filesPrefix) ? name.removingPercentEncoding ?? name : name
    }

    /// A sample's key: what follows the shard's URI and `#` in the sample's.
    static func sampleKey(_ image: TaskAssignment.Image, shard: String) -> String { String(image.uri.dropFirst(shard.count + 1)) }

    /// The shard as a local file: a path or file:// URI as it is; anything else streamed into the cache folder
    /// (never held in memory; removed when the task is over).
    private func shardFile(_ uri: String, task: TaskAssignment) async throws -> (path: String, temporary: Bool) {
        if uri.hasPrefix("/") || uri.hasPrefix("file://") {
            let path = ImageFetcher.path(of: uri)
            guard FileManager.default.fileExists(atPath: path) else { throw WorkerError("no such file") }
            return (path, false)
        }
        let path = shardsFolder.appendingPathComponent("pid-\(getpid())-task-\(task.taskId)-\(UUID().uuidString).tar").path
        try await fetcher.download(uri, to: path)
        return (path, true)
    }

    /// Where fetched shards wait while their task runs; workers on one host share it (their cache).
    var shardsFolder: URL { configuration.cacheDirectory.appendingPathComponent("shards") }

    /// A worker that was killed mid-shard left its fetched shard behind: the files of processes that are gone are
    /// removed when a worker starts (the others belong to workers running beside this one).
    func removeShardsOfGoneWorkers() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: shardsFolder.path)) ?? []
        // Output shards being built have a temporary name of their own: `.pid-….tar.<pid>.<random>.tmp`.
        for name in names where name.hasPrefix("pid-") || name.hasPrefix(".pid-") {
            let digits = name.drop { !$0.isNumber }.prefix { $0.isNumber }
            guard let pid = Int32(digits), kill(pid, 0) != 0, errno == ESRCH else { continue }
            unlink(shardsFolder.appendingPathComponent(name).path)
            logger.info("shard.leftover.removed", metadata: ["file": "\(name)"])
        }
    }
}

/// A shard's reader, one read at a time (the prefetch of the next image reads while this one is labeled).
private final class SharedReader: @unchecked Sendable {
    // @unchecked: `reader` is used only under `lock`.
    private let lock = NSLock()
    private let reader: TarReader?

    init(_ reader: TarReader?) { self.reader = reader }

    func bytes(of entry: TarReader.Entry) throws -> [UInt8] {
        try lock.withLock {
            guard let reader else { throw Tar.Failure("the shard could not be opened") }
            return try reader.bytes(of: entry)
        }
    }
}
