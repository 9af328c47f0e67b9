import Foundation
import Inference
import LabelAPI
import Logging

extension WorkerLoop {
    /// Labels one task. A lost lease (409) abandons it: another worker has it now.
    func process(_ task: TaskAssignment, stop: AtomicFlag) async {
        var logger = self.logger
        logger[metadataKey: "task.id"] = "\(task.taskId)"
        logger[metadataKey: "job.id"] = "\(task.jobId)"
        let leaseLost = AtomicFlag()
        let heartbeat = Task { await keepAlive(task, leaseLost: leaseLost, logger: logger) }
        defer { heartbeat.cancel() }

        let maskCLIP: MaskCLIP
        do {
            maskCLIP = try await models.maskCLIP(for: task)
        } catch {
            logger.error("task.model.failed", metadata: ["error": "\(error)"])
            try? await client.release(task: task.taskId, token: task.leaseToken, reason: "worker could not load the model: \(error)")
            try? await Task.sleep(for: .seconds(5))
            return
        }
        for image in task.images {
            if leaseLost.isSet { return }
            if stop.isSet {
                try? await client.release(task: task.taskId, token: task.leaseToken, reason: "worker stopping")
                logger.info("task.released")
                return
            }
            do {
                try await label(image, of: task, with: maskCLIP, logger: logger)
            } catch let error as CurlError where error.code == .httpStatus(409) {
                logger.warning("task.lease.lost", metadata: ["error": "\(error.message)"])
                return
            } catch {
                logger.error("task.upload.failed", metadata: ["image.id": "\(image.id)", "error": "\(error)"])
                return  // the lease expires and the task is retried
            }
        }
        do {
            FaultPoints.reached(.complete)
            try await client.complete(task: task.taskId, token: task.leaseToken)
            logger.info("task.completed", metadata: ["images.count": "\(task.images.count)"])
        } catch {
            logger.warning("task.complete.failed", metadata: ["error": "\(error)"])
        }
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
