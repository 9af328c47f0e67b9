import Foundation
import Inference
import LabelAPI
import Support
import GRDB

extension CoordinatorServices {
    /// Claims the next task for `worker` and describes it with everything the worker needs; with its job, whose
    /// settings the answer carries (`JobCache.settingsJSON`).
    func claimWithJob(_ db: Database, worker: String, name: String?) throws -> (assignment: TaskAssignment, job: JobRecord)? {
        guard let claimed = try store.claim(db, worker: worker, name: name) else { return nil }
        guard let job = try jobCache.settled(db, claimed.jobId, store: store) else {
            throw CoordinatorError(.internalError, "claimed a task of job \(claimed.jobId), which does not exist")
        }
        return (TaskAssignment(
            taskId: claimed.taskId, jobId: claimed.jobId, leaseToken: claimed.token,
            leaseSeconds: job.options.leaseSeconds, attempt: claimed.attempt, modelId: claimed.modelId,
            embeddingsSHA256: claimed.embeddingsSHA256, settings: job.options, classCount: job.classes.count,
            images: claimed.images.map { TaskAssignment.Image(id: $0.id, uri: fetchLocation(of: $0.uri)) },
            shard: claimed.shard.map(fetchLocation(of:))), job)
    }

    /// Where a WebDataset job's output shard is kept: `shards/{job}/{name}`, the input shard's name.
    func outputShardPath(job: String, name: String) -> String { dataPath(DataLayout.outputShard(job: job, name: name)) }

    /// Completes a task. A shard's task (in a job without an output) first writes its output shard (every sample of the shard that is done or
    /// failed, retries included) beside where it goes; the completion, once fenced and recorded, moves it into
    /// place, so a shard whose worker died or lost its lease never shows a partial output.
    func complete(taskId: Int64, token: String) async throws {
        // Most tasks are not shards (or their worker wrote the output shard): they complete at once, in the write batch.
        let completed = try await store.batched("completing task \(taskId)") { [store, jobCache] db -> Bool in
            if let job = try store.shardTaskJob(db, taskId), try jobCache.settled(db, job, store: store)?.options.output == nil { return false }
            try store.complete(db, taskId: taskId, token: token)
            return true
        }
        if completed { return }
        let staged = try await BlockingIO.run { [self] () -> (staging: String, path: String)? in
            guard let (jobId, shard, results, job) = try store.read("reading the samples of task \(taskId)", { [jobCache] db in
                _ = try store.fenced(db, taskId: taskId, token: token, at: store.timestamp())  // a stale lease writes nothing
                return try store.shardResults(db, taskId: taskId).map { ($0.jobId, $0.shard, $0.results, try jobCache.settled(db, $0.jobId, store: store)) }
            }) else { return nil }
            let path = outputShardPath(job: jobId, name: ShardSpec.name(of: shard))
            let staging = AtomicFile.parentDirectory(of: path) + "/.staged-\(taskId)-\(UUID().uuidString)"
            let writer = try TarWriter(staging)
            for result in results {
                if let label = result.label {
                    try writer.add(result.key + ".label.png", try Self.readAll(dataPath(label)))
                    let confidence = confidencePath(job: jobId, image: result.id)
                    if job?.options.saveConfidence == true, FileManager.default.fileExists(atPath: confidence) {
                        try writer.add(result.key + ".conf.png", try Self.readAll(confidence))
                    }
                } else if let error = result.error {
                    try writer.add(result.key + ".error.txt", Array((error + "\n").utf8))
                }
            }
            try writer.finish()
            return (staging, path)
        }
        do {
            try await store.batched("completing task \(taskId)") { [store] db in
                try store.complete(db, taskId: taskId, token: token)
                if let staged, rename(staged.staging, staged.path) != 0 {
                    throw CoordinatorError(.internalError, "cannot move the output shard into place at \(staged.path): \(String(cString: strerror(errno)))")
                }
            }
        } catch {
            if let staged { unlink(staged.staging) }
            throw error
        }
    }

    private static func readAll(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw FileError("read", path, reason: "missing or unreadable") }
        return [UInt8](data)
    }

    /// Where a worker fetches an image: URLs and paths outside the image root as they are; relative paths and
    /// paths under `--image-root` through this coordinator's file route.
    func fetchLocation(of uri: String) -> String {
        guard let root = configuration.imageRoot, !uri.contains("://") || uri.hasPrefix("file://") else { return uri }
        var path = uri.hasPrefix("file://") ? String(uri.dropFirst("file://".count)) : uri
        if path.hasPrefix("/") {
            let rootPath = root.standardizedFileURL.path
            guard path.hasPrefix(rootPath + "/") else { return uri }
            path = String(path.dropFirst(rootPath.count + 1))
        }
        return Routes.file.path(path)
    }

    /// The file under `--image-root` that the path `components` name, symlinks resolved; nil when it would leave
    /// the root. Blocking: resolving symlinks reads the file system.
    func imageRootPath(_ components: [String]) -> String? {
        guard let root = configuration.imageRoot else { return nil }
        let resolvedRoot = root.resolvingSymlinksInPath().path
        let path = URL(fileURLWithPath: resolvedRoot).appendingPathComponent(components.joined(separator: "/")).resolvingSymlinksInPath().path
        return path.hasPrefix(resolvedRoot + "/") ? path : nil
    }

    /// The size of the image when this coordinator serves it from `--image-root` (read from its header), else nil.
    func servedImageSize(jobId: String, imageId: String) throws -> (Int, Int)? {
        guard let uri = try store.imageURI(jobId: jobId, imageId: imageId) else { return nil }
        let location = fetchLocation(of: uri)
        guard location.hasPrefix(Routes.filesPrefix) else { return nil }
        let components = location.dropFirst(Routes.filesPrefix.count).split(separator: "/").map { $0.removingPercentEncoding ?? String($0) }
        guard let path = imageRootPath(components), let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        // The header is near the start; a JPEG with a large EXIF block may need more, up to the whole file.
        var bytes = [UInt8](try handle.read(upToCount: 256 << 10) ?? Data())
        if let size = try? ImageCodec.dimensions(bytes) { return size }
        bytes += [UInt8](try handle.read(upToCount: 256 << 20) ?? Data())
        return try? ImageCodec.dimensions(bytes)
    }

    /// Checks and stores an uploaded label map (see `TaskRoutes.upload`): the PNG is checked and written on a
    /// blocking thread, and recorded in a write batch.
    func storeLabel(_ bytes: [UInt8], taskId: Int64, imageId: String, token: String, width: Int, height: Int) async throws -> LabelOutcome {
        let upload = try await BlockingIO.run { [self] in
            try writeLabelFile(bytes, taskId: taskId, token: token, width: width, height: height, imageId: imageId)
        }
        do {
            let outcome = try await store.batched("recording the label of \(imageId) in task \(taskId)") { [store] db in
                try store.recordLabel(db, taskId: taskId, token: token, imageId: imageId, label: upload.file)
            }
            if outcome == .recorded { metrics.uploaded(bytes: bytes.count, worker: upload.worker) }
            return outcome
        } catch {
            // Only a file this request created and nothing references may go.
            if upload.created {
                let (store, path) = (store, dataPath(upload.file.relativePath))
                try? await BlockingIO.run {
                    if (try? store.label(jobId: upload.jobId, imageId: imageId))??.relativePath != upload.file.relativePath { unlink(path) }
                }
            }
            throw error
        }
    }

    /// A label file written for an upload, before it is recorded.
    private struct WrittenLabel: Sendable {
        var jobId: String
        var worker: String
        var file: LabelFile
        /// False when an identical file was there already.
        var created: Bool
    }

    /// Checks the lease and the image, validates the PNG (decodes, the source's size, values < K or 255) and
    /// writes it content-addressed and atomically. Nothing is written for an id that is not an image of this
    /// lease, so an upload cannot name a path of its choosing.
    private func writeLabelFile(_ bytes: [UInt8], taskId: Int64, token: String, width: Int, height: Int, imageId: String) throws -> WrittenLabel {
        guard ImageID.isSafe(imageId) else { throw CoordinatorError(.notFound, "no image \(imageId.debugDescription) in task \(taskId)") }
        let (jobId, worker) = try store.uploadTarget(taskId: taskId, token: token, imageId: imageId)
        guard let job = try store.read("reading job \(jobId)", { [store, jobCache] db in try jobCache.settled(db, jobId, store: store) }) else {
            throw CoordinatorError(.notFound, "no task \(taskId)")
        }
        if let output = job.options.output { throw Self.writesToOutput(jobId, output) }
        let map = try ImageCodec.decodeLabelPNG(bytes, maxPixels: ImageCodec.defaultMaxPixels)
        // The image's size as the worker reports it, unless this coordinator serves the image: then its own reading.
        if let (servedWidth, servedHeight) = try servedImageSize(jobId: jobId, imageId: imageId), (servedWidth, servedHeight) != (width, height) {
            throw CoordinatorError(.invalidUpload, "the upload says \(imageId) is \(width)x\(height), but the image this coordinator serves "
                                   + "is \(servedWidth)x\(servedHeight)")
        }
        guard map.width == width, map.height == height else {
            throw CoordinatorError(.invalidUpload, "label map is \(map.width)x\(map.height), the source image is \(width)x\(height)")
        }
        try checkConfidence(job: job, imageId: imageId, width: width, height: height)
        let classes = job.classes.count
        if let bad = map.indices.first(where: { Int($0) >= classes && $0 != LabelMap.void }) {
            throw CoordinatorError(.invalidUpload, "label value \(bad) is not a class index (< \(classes)) or 255")
        }
        let sha = SHA256Hex.of(bytes)
        let relative = DataLayout.label(job: jobId, image: imageId, sha256: sha)
        let path = dataPath(relative)
        let existed = FileManager.default.fileExists(atPath: path)
        if !existed { try AtomicFile.write(bytes, to: path, mode: 0o600) }
        return WrittenLabel(jobId: jobId, worker: worker,
                            file: LabelFile(sha256: sha, bytes: Int64(bytes.count), width: width, height: height, relativePath: relative,
                                            classes: ClassPixels.count(map.indices)),
                            created: !existed)
    }

    /// An upload to a job whose workers write to its output instead.
    static func writesToOutput(_ jobId: String, _ output: String) -> CoordinatorError {
        CoordinatorError(.badRequest, "job \(jobId) keeps its labels in \(output): its workers write them there and send a receipt "
                         + "of each (docs/STORAGE.md)")
    }

    /// Records a receipt (docs/STORAGE.md): the worker wrote the label of `imageId` to the job's output. Checked
    /// like an upload as far as a receipt allows: the lease, that the job has an output, the key (the one
    /// `OutputLocation.keys` gives the image, so a receipt cannot point elsewhere), the size (against the image this
    /// coordinator serves, when it does), the class counts (each value < K or 255, adding up to the map's pixels),
    /// a confidence digest exactly when the job saves confidence maps. What is in the storage, `labelmill verify`
    /// checks. A shard's sample done before takes a new label: its worker rewrites the whole output shard.
    func recordReceipt(_ receipt: LabelReceipt, taskId: Int64, imageId: String) async throws -> LabelOutcome {
        guard ImageID.isSafe(imageId) else { throw CoordinatorError(.notFound, "no image \(imageId.debugDescription) in task \(taskId)") }
        let (job, uri) = try await BlockingIO.run { [self] () -> (JobRecord, String) in
            try store.read("checking a receipt for \(imageId) in task \(taskId)") { [store, jobCache] db in
                // (A shard's sample done by an earlier task of the shard is this one's to label again: see below.)
                let (jobId, _) = try store.uploadTarget(db, taskId: taskId, token: receipt.leaseToken, imageId: imageId, wholeShard: true)
                guard let job = try jobCache.settled(db, jobId, store: store), let uri = try store.imageURI(db, jobId: jobId, imageId: imageId) else {
                    throw CoordinatorError(.notFound, "no task \(taskId)")
                }
                return (job, uri)
            }
        }
        guard job.options.output != nil else {
            throw CoordinatorError(.badRequest, "job \(job.id) has no output: its workers upload the label maps to the coordinator")
        }
        let expected = OutputLocation.keys(id: imageId, uri: uri, tarShards: job.options.tarShards)
        guard receipt.key == expected.label else {
            throw CoordinatorError(.invalidUpload, "the receipt names \(MessageText.clipped(receipt.key).debugDescription); the label of "
                                   + "\(imageId) goes to \(expected.label)")
        }
        let (width, height) = (receipt.width, receipt.height)
        guard width > 0, height > 0, width.multipliedReportingOverflow(by: height).partialValue <= ImageCodec.defaultMaxPixels,
              width <= Int(Int32.max), height <= Int(Int32.max) else {
            throw CoordinatorError(.invalidUpload, "the receipt's size \(width)x\(height) is not an image's (at most \(ImageCodec.defaultMaxPixels) pixels)")
        }
        guard (1...Int64(configuration.maxLabelBytes)).contains(receipt.bytes) else {
            throw CoordinatorError(.invalidUpload, "the receipt's label is \(receipt.bytes) bytes: a label map has 1 to \(configuration.maxLabelBytes)")
        }
        if let (servedWidth, servedHeight) = try await BlockingIO.run({ [self] in try servedImageSize(jobId: job.id, imageId: imageId) }),
           (servedWidth, servedHeight) != (width, height) {
            throw CoordinatorError(.invalidUpload, "the receipt says \(imageId) is \(width)x\(height), but the image this coordinator serves "
                                   + "is \(servedWidth)x\(servedHeight)")
        }
        var seen = Set<Int>(), pixels: Int64 = 0
        for entry in receipt.classes {
            guard entry.class == Int(LabelMap.void) || (0..<job.classes.count).contains(entry.class) else {
                throw CoordinatorError(.invalidUpload, "label value \(entry.class) is not a class index (< \(job.classes.count)) or 255")
            }
            guard entry.pixels > 0, seen.insert(entry.class).inserted else {
                throw CoordinatorError(.invalidUpload, "the receipt's class counts must name each value once, with a positive count")
            }
            pixels += entry.pixels
        }
        guard pixels == Int64(width) * Int64(height) else {
            throw CoordinatorError(.invalidUpload, "the receipt's class counts add up to \(pixels) pixels, its map has \(width * height)")
        }
        guard (receipt.confidenceSHA256 != nil) == job.options.saveConfidence else {
            throw CoordinatorError(.invalidUpload, job.options.saveConfidence
                                   ? "job \(job.id) saves confidence maps: write \(expected.confidence) and give its confidenceSHA256"
                                   : "job \(job.id) saves no confidence maps: the receipt has a confidenceSHA256")
        }
        let classes = receipt.classes.sorted { ($0.pixels, -$0.class) > ($1.pixels, -$1.class) }
        let label = LabelFile(sha256: receipt.sha256, bytes: receipt.bytes, width: width, height: height, relativePath: receipt.key,
                              classes: classes, confidenceSHA256: receipt.confidenceSHA256)
        if let problem = label.problem { throw CoordinatorError(.invalidUpload, problem) }
        return try await store.batched("recording the receipt of \(imageId) in task \(taskId)") { [store] db in
            try store.recordLabel(db, taskId: taskId, token: receipt.leaseToken, imageId: imageId, label: label,
                                  replacing: job.options.tarShards)
        }
    }
}
