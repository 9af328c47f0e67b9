import Foundation
import Inference
import LabelAPI
import Logging

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
        var logger = self.logger
        logger[metadataKey: "task.id"] = "\(task.taskId)"
        logger[metadataKey: "job.id"] = "\(task.jobId)"
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
        for image in task.images {
            if leaseLost.isSet { return .processed }
            if stop.isSet {
                try? await client.release(task: task.taskId, token: task.leaseToken, reason: "worker stopping")
                logger.info("task.released")
                return .processed
            }
            do {
                try await label(image, of: task, with: maskCLIP, logger: logger)
            } catch let error as CurlError where error.code == .httpStatus(409) {
                logger.warning("task.lease.lost", metadata: ["error": "\(error.message)"])
                return .processed
            } catch let error as CurlError where [.httpStatus(400), .httpStatus(413), .httpStatus(422)].contains(error.code) {
                // The coordinator refuses this image's output for good (a retry would send the same bytes): the image
                // fails with its reason, and the task goes on.
                logger.error("image.upload.refused", metadata: ["image.id": "\(image.id)", "error": "\(error.message)"])
                do {
                    try await client.failImage(task: task.taskId, image: image.id, token: task.leaseToken,
                                               reason: "the coordinator refused its upload: \(error.message)")
                } catch {
                    logger.error("task.upload.failed", metadata: ["image.id": "\(image.id)", "error": "\(error)"])
                    return .processed  // the lease expires and the task is retried
                }
            } catch {
                logger.error("task.upload.failed", metadata: ["image.id": "\(image.id)", "error": "\(error)"])
                return .processed  // the lease expires and the task is retried
            }
        }
        do {
            FaultPoints.reached(.complete)
            try await client.complete(task: task.taskId, token: task.leaseToken)
            logger.info("task.completed", metadata: ["images.count": "\(task.images.count)"])
        } catch {
            logger.warning("task.complete.failed", metadata: ["error": "\(error)"])
        }
        return .processed
    }

    /// Fetch, label, upload one image; a bad image is reported as failed and the task goes on.
    private func label(_ image: TaskAssignment.Image, of task: TaskAssignment, with maskCLIP: MaskCLIP, logger: Logger) async throws {
        let labeled: InferenceRunner.Labeled
        do {
            FaultPoints.reached(.download)
            let bytes = try await fetcher.fetch(image.uri)
            FaultPoints.reached(.inference)
            labeled = try await runner.label(bytes, with: maskCLIP, maxPixels: configuration.maxPixels)
        } catch let error as ImageFetcher.Failure where !error.permanent && image.uri.hasPrefix(Routes.filesPrefix) {
            // The coordinator itself did not answer: not the image's fault. Drop the task; its lease expires and
            // the image is tried again.
            throw error
        } catch let error as ImageFetcher.Failure {
            try await client.failImage(task: task.taskId, image: image.id, token: task.leaseToken, reason: error.description)
            logger.warning("image.failed", metadata: ["image.id": "\(image.id)", "error": "\(error)"])
            return
        } catch let error as InferenceError {
            try await client.failImage(task: task.taskId, image: image.id, token: task.leaseToken, reason: error.message)
            logger.warning("image.failed", metadata: ["image.id": "\(image.id)", "error": "\(error.message)"])
            return
        }
        FaultPoints.reached(.upload)
        // The thumbnail goes first, so a labeled image has its picture in the gallery. It is a nicety: only a
        // lost lease stops the image; any other failure leaves the gallery without this picture.
        do {
            try await client.uploadThumbnail(task: task.taskId, image: image.id, token: task.leaseToken, jpeg: labeled.thumbnail)
        } catch let error as CurlError where error.code == .httpStatus(409) {
            throw error
        } catch {
            logger.warning("image.thumbnail.failed", metadata: ["image.id": "\(image.id)", "error": "\(error)"])
        }
        // The confidence map is part of the job's output: sent (with retries) before the label that completes the
        // image, so a labeled image always has it.
        if let confidence = labeled.confidence {
            try await client.uploadConfidence(task: task.taskId, image: image.id, token: task.leaseToken, png: confidence)
        }
        try await client.uploadLabel(task: task.taskId, image: image.id, token: task.leaseToken, png: labeled.png,
                                     width: labeled.width, height: labeled.height)
        logger.debug("image.labeled", metadata: ["image.id": "\(image.id)"])
    }

    /// Heartbeats every third of the lease until cancelled; a 409 marks the lease lost.
    private func keepAlive(_ task: TaskAssignment, leaseLost: AtomicFlag, logger: Logger) async {
        var interval = max(task.leaseSeconds / 3, 0.2)
        while !Task.isCancelled {
            do { try await Task.sleep(for: .seconds(interval)) } catch { return }
            do {
                FaultPoints.reached(.heartbeat)
                let answer = try await client.heartbeat(task: task.taskId, token: task.leaseToken)
                interval = max(answer.leaseSeconds / 3, 0.2)
            } catch let error as CurlError where error.code == .httpStatus(409) {
                leaseLost.set()
                logger.warning("task.lease.lost", metadata: ["error": "\(error.message)"])
                return
            } catch {
                logger.warning("task.heartbeat.failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
