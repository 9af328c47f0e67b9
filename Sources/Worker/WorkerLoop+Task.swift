import Foundation
import Inference
import LabelAPI
import LabelClient
import Logging
import Support

extension WorkerLoop {
    /// What became of a task.
    enum Outcome {
        case processed
        /// The job could not be prepared (reported to the coordinator as a job-level failure).
        case unprepared
    }

    /// Labels one task. A lost lease (409) abandons it: another worker has it now. A job this worker cannot
    /// prepare (its settings out of range, its model will not download, verify or load, its embeddings corrupt)
    /// is reported as a job-level failure, never released to go round again.
    func process(_ task: TaskAssignment, stop: AtomicFlag) async -> Outcome {
        var taskLogger = self.logger
        taskLogger[metadataKey: "task.id"] = "\(task.taskId)"
        taskLogger[metadataKey: "job.id"] = "\(task.jobId)"
        let logger = taskLogger
        let leaseLost = AtomicFlag()
        let heartbeat = Task { await keepAlive(task, leaseLost: leaseLost, logger: logger) }
        defer { heartbeat.cancel() }

        let maskCLIP: MaskCLIP
        do {
            do { try task.settings.validate() } catch { throw WorkerError("settings.\(error)") }
            maskCLIP = try await models.maskCLIP(for: task)
        } catch {
            // The reason names the cause only: the coordinator records which worker reported it, and equal causes
            // from several workers group in the job's problems.
            let reason = "\(error)"
            logger.error("task.prepare.failed", metadata: ["reason": "\(reason)"])
            do {
                let outcome = try await client.failTask(task: task.taskId, token: task.leaseToken, reason: reason)
                logger.info("task.failure.reported", metadata: ["outcome": "\(outcome)"])
            } catch {
                logger.warning("task.failure.unreported", metadata: ["error": "\(error)"])  // the lease expires instead
            }
            return .unprepared
        }
        if let cores {
            do {
                try await Self.fileThread.run { try cores.join() }
            } catch {
                logger.warning("worker.threads.unshared", metadata: ["reason": "\(error)", "threads": "\(ComputeThreads.count)"])
            }
        }
        // After this task, on the same (serial) thread as the next task's join.
        defer { if let cores { Self.fileThread.submit { cores.leave() } } }
        let source: ImageSource
        if let shard = task.shard {
            guard let opened = await openShard(shard, of: task, logger: logger) else { return .processed }
            source = opened
        } else {
            source = ImageSource(images: task.images, load: { [fetcher] image in try await fetcher.fetch(image.uri) }, close: {})
        }
        defer { source.close() }
        // A job with an output (docs/STORAGE.md): labels go there, receipts to the coordinator; a shard's output
        // shard is built here and written there before the task completes.
        let output = Output(task: task, store: task.settings.outputLocation.map { OutputStore($0, s3: fetcher.s3) })
        if output.store != nil, let shard = task.shard {
            do {
                output.shard = try ShardOutput(name: Self.shardName(shard), folder: shardsFolder, taskId: task.taskId)
                for failure in source.failed { try output.shard?.addError(key: failure.key, reason: failure.reason) }
            } catch {
                logger.error("shard.output.failed", metadata: ["error": "\(error)"])
                try? await client.release(task: task.taskId, token: task.leaseToken, reason: "cannot build the output shard here: \(error)")
                return .processed
            }
        }
        defer { output.shard?.discard() }
        let images = source.images
        // The pipeline (docs/WORKER-PIPELINE.md): the next image is fetched and decoded while this one runs through
        // MaskCLIP, and this one's PNGs are encoded and uploaded while the next one runs.
        var upcoming = images.first.map { prefetch($0, from: source, logger: logger) }
        var upload: Upload?
        defer { upcoming?.cancel() }
        for (index, image) in images.enumerated() {
            if leaseLost.isSet { return .processed }
            if stop.isSet {
                if let upload, await settle(upload, of: task, output: output, logger: logger) == .abandon { return .processed }
                try? await client.release(task: task.taskId, token: task.leaseToken, reason: "worker stopping")
                logger.info("task.released")
                return .processed
            }
            let prepared = await upcoming!.value
            if case .coordinatorDown(let error) = prepared {
                // The coordinator itself did not answer: not the image's fault. Drop the task (before asking it for
                // anything else); its lease expires and the image is tried again.
                logger.error("task.upload.failed", metadata: ["image.id": "\(image.id)", "error": "\(error)"])
                return .processed
            }
            upcoming = index + 1 < images.count ? prefetch(images[index + 1], from: source, logger: logger) : nil
            guard case .decoded(let decoded) = prepared else {
                if case .failed(let reason) = prepared, await fail(image, of: task, reason: reason, output: output, logger: logger) { continue }
                return .processed
            }
            if let cores { _ = try? await Self.fileThread.run { cores.rebalance(logger: logger) } }
            let labeled: InferenceRunner.Labeled
            do {
                FaultPoints.reached(.inference)
                labeled = try await runner.encode(try await runner.label(decoded, with: maskCLIP), of: decoded)
            } catch {
                let reason = (error as? InferenceError)?.message ?? "\(error)"
                if await fail(image, of: task, reason: reason, output: output, logger: logger) { continue }
                return .processed
            }
            // One upload at a time, in order: the last image's goes out (and its answer is read) before this one's.
            if let upload, await settle(upload, of: task, output: output, logger: logger) == .abandon { return .processed }
            upload = Upload(image: image, sending: Task { await send(labeled, image: image, of: task, output: output, logger: logger) })
        }
        if let upload, await settle(upload, of: task, output: output, logger: logger) == .abandon { return .processed }
        if let shard = output.shard, let store = output.store {
            do {
                try shard.finish()
                try await store.write(file: shard.path, to: shard.key, contentType: "application/x-tar")
                logger.info("shard.output.written", metadata: ["uri": "\(store.location.uri(of: shard.key))"])
            } catch {
                // Its samples' receipts are in; without the shard the task is not done. Reported like a job this
                // worker cannot prepare: it counts as an attempt, and storage that keeps refusing fails the job.
                let reason = "\(error)"
                logger.error("shard.output.failed", metadata: ["reason": "\(reason)"])
                _ = try? await client.failTask(task: task.taskId, token: task.leaseToken, reason: reason)
                return .processed
            }
        }
        do {
            FaultPoints.reached(.complete)
            try await client.complete(task: task.taskId, token: task.leaseToken)
            logger.info("task.completed", metadata: ["images.count": "\(images.count)"])
        } catch {
            logger.warning("task.complete.failed", metadata: ["error": "\(error)"])
        }
        return .processed
    }

    /// An image fetched and decoded ahead of MaskCLIP, or why not.
    enum Prepared: Sendable {
        case decoded(InferenceRunner.Decoded)
        /// The image's own fault (unreadable, missing, too large): it fails with this reason.
        case failed(String)
        /// The coordinator that serves the image did not answer: the task is dropped and retried.
        case coordinatorDown(any Error)
    }

    /// Fetches and decodes `image` in the background.
    private func prefetch(_ image: TaskAssignment.Image, from source: ImageSource, logger: Logger) -> Task<Prepared, Never> {
        Task {
            do {
                FaultPoints.reached(.download)
                let bytes = try await source.load(image)
                return .decoded(try await runner.decode(bytes, maxPixels: configuration.maxPixels))
            } catch let error as ImageFetcher.Failure where !error.permanent && Routes.isCoordinatorFile(image.uri) {
                return .coordinatorDown(error)
            } catch let error as ImageFetcher.Failure {
                return .failed(error.description)
            } catch let error as InferenceError {
                return .failed(error.message)
            } catch {
                return .failed("\(error)")
            }
        }
    }

    /// Where a task's labels go besides the coordinator: the job's output, and the output shard built for it.
    final class Output: @unchecked Sendable {
        // @unchecked: `shard` is set once, before any image is labeled.
        let task: TaskAssignment
        let store: OutputStore?
        var shard: ShardOutput?

        init(task: TaskAssignment, store: OutputStore?) { (self.task, self.store) = (task, store) }

        /// A sample's key in its shard, for the output shard's members.
        func sampleKey(_ image: TaskAssignment.Image) -> String { WorkerLoop.sampleKey(image, shard: task.shard ?? "") }
    }

    /// Reports `image` as failed (and, in an output shard built here, writes its reason there); false when the
    /// report did not go through (a lost lease or an unreachable coordinator: the task is dropped and its lease
    /// decides).
    private func fail(_ image: TaskAssignment.Image, of task: TaskAssignment, reason: String, output: Output, logger: Logger) async -> Bool {
        do {
            try await client.failImage(task: task.taskId, image: image.id, token: task.leaseToken, reason: reason)
            logger.warning("image.failed", metadata: ["image.id": "\(image.id)", "error": "\(reason)"])
            try output.shard?.addError(key: output.sampleKey(image), reason: reason)
            return true
        } catch let error as ClientError where Self.losesTheTask(error) {
            logger.warning("task.lease.lost", metadata: ["error": "\(error.message)"])
            return false
        } catch {
            logger.error("task.upload.failed", metadata: ["image.id": "\(image.id)", "error": "\(error)"])
            return false
        }
    }

    /// A refusal that ends this worker's part in the task: its lease is gone, or the coordinator holds a result for
    /// the image that this one would contradict (a coordinator before `lease_lost` said `conflict` for both).
    static func losesTheTask(_ error: ClientError) -> Bool {
        error.kind == .leaseLost || error.kind == .conflict
    }

    /// An image's upload under way.
    struct Upload {
        let image: TaskAssignment.Image
        let sending: Task<Result<Void, any Error>, Never>
    }

    enum Settled { case done, abandon }

    /// Waits for an upload. A lost lease abandons the task: another worker has it now. An upload the
    /// coordinator refuses for good (malformed, too large, an invalid map: a retry would send the same bytes) fails that image with the
    /// coordinator's reason, and the task goes on. Anything else drops the task; its lease expires and it is retried.
    /// A label the job's output would not take fails its image with the storage's reason.
    private func settle(_ upload: Upload, of task: TaskAssignment, output: Output, logger: Logger) async -> Settled {
        switch await upload.sending.value {
        case .success:
            return .done
        case .failure(let error as ClientError) where Self.losesTheTask(error):
            logger.warning("task.lease.lost", metadata: ["error": "\(error.message)"])
            return .abandon
        case .failure(let error as ClientError) where [.refused, .tooLarge, .invalidUpload].contains(error.kind):
            logger.error("image.upload.refused", metadata: ["image.id": "\(upload.image.id)", "error": "\(error.message)"])
            return await fail(upload.image, of: task, reason: "the coordinator refused its upload: \(error.message)", output: output, logger: logger)
                ? .done : .abandon
        case .failure(let error as OutputStore.Failure):
            logger.error("image.output.failed", metadata: ["image.id": "\(upload.image.id)", "error": "\(error)"])
            return await fail(upload.image, of: task, reason: error.description, output: output, logger: logger) ? .done : .abandon
        case .failure(let error):
            logger.error("task.upload.failed", metadata: ["image.id": "\(upload.image.id)", "error": "\(error)"])
            return .abandon
        }
    }

    /// Uploads an image's thumbnail, confidence map and label map; in a job with an output, writes the maps there
    /// (or into the output shard being built) and sends their receipt instead.
    private func send(_ labeled: InferenceRunner.Labeled, image: TaskAssignment.Image, of task: TaskAssignment, output: Output,
                      logger: Logger) async -> Result<Void, any Error> {
        do {
            FaultPoints.reached(.upload)
            // The thumbnail goes first, so a labeled image has its picture in the gallery. It is a nicety: only a
            // lost lease stops the image; any other failure leaves the gallery without this picture.
            do {
                try await client.uploadThumbnail(task: task.taskId, image: image.id, token: task.leaseToken, jpeg: labeled.thumbnail)
            } catch let error as ClientError where Self.losesTheTask(error) {
                throw error
            } catch {
                logger.warning("image.thumbnail.failed", metadata: ["image.id": "\(image.id)", "error": "\(error)"])
            }
            if let store = output.store {
                try await sendReceipt(labeled, image: image, of: task, store: store, shard: output.shard, key: output.sampleKey(image))
                logger.debug("image.labeled", metadata: ["image.id": "\(image.id)"])
                return .success(())
            }
            // The confidence map is part of the job's output: sent (with retries) before the label that completes
            // the image, so a labeled image always has it.
            if let confidence = labeled.confidence {
                try await client.uploadConfidence(task: task.taskId, image: image.id, token: task.leaseToken, png: confidence,
                                                  width: labeled.width, height: labeled.height)
            }
            try await client.uploadLabel(task: task.taskId, image: image.id, token: task.leaseToken, png: labeled.png,
                                         width: labeled.width, height: labeled.height)
            logger.debug("image.labeled", metadata: ["image.id": "\(image.id)"])
            return .success(())
        } catch {
            return .failure(error)
        }
    }

    /// Writes the maps to the job's output (an image's as objects of their own, a sample's into the output shard,
    /// after its receipt is taken) and sends the receipt. A write the storage refuses throws `OutputStore.Failure`.
    private func sendReceipt(_ labeled: InferenceRunner.Labeled, image: TaskAssignment.Image, of task: TaskAssignment,
                             store: OutputStore, shard: ShardOutput?, key: String) async throws {
        let keys = OutputLocation.keys(id: image.id, uri: task.shard == nil ? image.uri : Self.shardName(task.shard!) + "#" + key,
                                       tarShards: task.shard != nil)
        if shard == nil {
            if let confidence = labeled.confidence { try await store.write(confidence, to: keys.confidence, contentType: "image/png") }
            try await store.write(labeled.png, to: keys.label, contentType: "image/png")
        }
        let receipt = LabelReceipt(leaseToken: task.leaseToken, key: keys.label, sha256: SHA256Hex.of(labeled.png),
                                   bytes: Int64(labeled.png.count), width: labeled.width, height: labeled.height,
                                   classes: labeled.classes, confidenceSHA256: labeled.confidence.map { SHA256Hex.of($0) })
        try await client.sendReceipt(task: task.taskId, image: image.id, receipt: receipt)
        try shard?.add(key: key, label: labeled.png, confidence: labeled.confidence)
    }

    /// Heartbeats every third of the lease until cancelled; a refused heartbeat marks the lease lost.
    private func keepAlive(_ task: TaskAssignment, leaseLost: AtomicFlag, logger: Logger) async {
        var interval = max(task.leaseSeconds / 3, 0.2)
        while !Task.isCancelled {
            do { try await Task.sleep(for: .seconds(interval)) } catch { return }
            do {
                FaultPoints.reached(.heartbeat)
                let answer = try await client.heartbeat(task: task.taskId, token: task.leaseToken)
                interval = max(answer.leaseSeconds / 3, 0.2)
            } catch let error as ClientError where Self.losesTheTask(error) {
                leaseLost.set()
                logger.warning("task.lease.lost", metadata: ["error": "\(error.message)"])
                return
            } catch {
                logger.warning("task.heartbeat.failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
