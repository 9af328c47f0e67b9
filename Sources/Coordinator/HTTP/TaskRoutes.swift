import Foundation
import HTTPTypes
import Hummingbird
import Inference
import LabelAPI
import ServiceLifecycle

/// The worker side: claim a task, keep its lease alive, upload label maps or fail images, complete or release.
struct TaskRoutes {
    let services: CoordinatorServices

    static let imageWidthHeader = HTTPField.Name("X-Image-Width")!
    static let imageHeightHeader = HTTPField.Name("X-Image-Height")!
    static let leaseTokenHeader = HTTPField.Name(Routes.leaseTokenHeader)!

    func register(on router: Router<CoordinatorContext>) {
        router.on(Routes.claim) { request, context in
            let claim = try await request.decodeJSON(ClaimRequest.self, limit: 1 << 16)
            let deadline = ContinuousClock.now + .milliseconds(Int(min(max(claim.waitSeconds, 0), 60) * 1000))
            // The first try also records that the worker was seen; a long poll then sleeps until work may be
            // there. Woken by a signal of new work, it claims at once; after its 2 s timeout it checks with a read
            // first, so idle workers cost one cheap read every 2 s, not a write.
            var tryClaim = true
            while true {
                if tryClaim, let assignment = try await services.store.batched("claiming a task for \(claim.worker)", { db in
                    try services.claim(db, worker: claim.worker, name: claim.name)
                }) {
                    return try json(assignment)
                }
                let now = ContinuousClock.now
                if now >= deadline { return Response(status: .noContent) }
                // A stopping coordinator answers waiting workers at once instead of holding its shutdown for them.
                let woken = await withGracefulShutdownHandler {
                    await services.workSignal.wait(timeout: min(deadline - now, .seconds(2)))
                } onGracefulShutdown: {
                    services.workSignal.notifyAll()
                }
                if Task.isShuttingDownGracefully { return Response(status: .noContent) }
                tryClaim = woken
                if !woken {
                    tryClaim = try await services.store.read("looking for claimable tasks") { db in try services.store.hasClaimableTask(db) }
                }
            }
        }
        router.on(Routes.heartbeat) { request, context in
            let (task, lease) = (try context.parameters.require("task", as: Int64.self), try await lease(request))
            let seconds = try await services.store.batched("heartbeat of task \(task)") { db in
                try services.store.heartbeat(db, taskId: task, token: lease.leaseToken).timeIntervalSinceNow
            }
            return try json(HeartbeatResponse(leaseSeconds: seconds))
        }
        router.on(Routes.complete) { request, context in
            let (task, lease) = (try context.parameters.require("task", as: Int64.self), try await lease(request))
            try await services.store.batched("completing task \(task)") { db in try services.store.complete(db, taskId: task, token: lease.leaseToken) }
            return Response(status: .noContent)
        }
        router.on(Routes.release) { request, context in
            let (task, lease) = (try context.parameters.require("task", as: Int64.self), try await lease(request))
            try await services.store.batched("releasing task \(task)") { db in
                try services.store.release(db, taskId: task, token: lease.leaseToken, reason: lease.reason ?? "released by the worker")
            }
            services.workSignal.notify(count: 1)
            return Response(status: .noContent)
        }
        router.on(Routes.failImage) { request, context in
            let (task, image) = (try context.parameters.require("task", as: Int64.self), try context.parameters.imageID())
            let failure = try await request.decodeJSON(ImageFailure.self, limit: 1 << 16)
            try await services.store.batched("failing \(image) in task \(task)") { db in
                try services.store.failImage(db, taskId: task, token: failure.leaseToken, imageId: image, reason: String(failure.reason.prefix(2000)))
            }
            return Response(status: .noContent)
        }
        router.on(Routes.failTask) { request, context in
            let task = try context.parameters.require("task", as: Int64.self)
            let failure = try await request.decodeJSON(TaskFailure.self, limit: 1 << 16)
            let outcome = try await services.store.batched("reporting a job failure on task \(task)") { db in
                try services.store.reportJobFailure(db, taskId: task, token: failure.leaseToken, reason: failure.reason)
            }
            if outcome == .requeued { services.workSignal.notify(count: 1) }
            return try json(TaskFailureResponse(outcome: outcome.rawValue))
        }
        router.on(Routes.uploadLabel) { request, context in
            try await upload(request, context)
        }
        router.on(Routes.uploadThumbnail) { request, context in
            let upload = try await picture(request, context, limit: CoordinatorServices.thumbnailMaxBytes, what: "thumbnails")
            try await BlockingIO.run { try services.storeThumbnail(upload.bytes, taskId: upload.task, token: upload.token, imageId: upload.image) }
            return Response(status: .noContent)
        }
        router.on(Routes.uploadConfidence) { request, context in
            let upload = try await picture(request, context, limit: services.configuration.maxLabelBytes, what: "confidence maps")
            try await BlockingIO.run { try services.storeConfidence(upload.bytes, taskId: upload.task, token: upload.token, imageId: upload.image) }
            return Response(status: .noContent)
        }
    }

    /// A picture uploaded beside a label (a thumbnail, a confidence map): its task, image, lease token and bytes.
    private func picture(_ request: Request, _ context: CoordinatorContext, limit: Int, what: String) async throws
        -> (task: Int64, image: String, token: String, bytes: [UInt8]) {
        let (task, image) = (try context.parameters.require("task", as: Int64.self), try context.parameters.imageID())
        guard let token = request.headers[Self.leaseTokenHeader] else {
            throw CoordinatorError(.badRequest, "missing \(Routes.leaseTokenHeader) header")
        }
        let body: ByteBuffer
        do { body = try await request.body.collect(upTo: limit) } catch {
            throw CoordinatorError(.tooLarge, "\(what) are limited to \(limit) bytes")
        }
        return (task, image, token, [UInt8](body.readableBytesView))
    }

    private func lease(_ request: Request) async throws -> LeaseRequest {
        try await request.decodeJSON(LeaseRequest.self, limit: 1 << 16)
    }

    /// Validates the PNG (decodes, the source's size, values < K or 255), stores it content-addressed and
    /// atomically, then records it under the lease; a stale lease gets 409 and its file is removed.
    private func upload(_ request: Request, _ context: CoordinatorContext) async throws -> Response {
        let task = try context.parameters.require("task", as: Int64.self)
        let image = try context.parameters.imageID()
        guard let token = request.headers[Self.leaseTokenHeader] else {
            throw CoordinatorError(.badRequest, "missing \(Routes.leaseTokenHeader) header")
        }
        guard let width = request.headers[Self.imageWidthHeader].flatMap(Int.init),
              let height = request.headers[Self.imageHeightHeader].flatMap(Int.init) else {
            throw CoordinatorError(.badRequest, "missing X-Image-Width / X-Image-Height (the source image's size)")
        }
        let limit = services.configuration.maxLabelBytes
        let body: ByteBuffer
        do { body = try await request.body.collect(upTo: limit) } catch {
            throw CoordinatorError(.tooLarge, "label maps are limited to \(limit) bytes")
        }
        let bytes = [UInt8](body.readableBytesView)
        let outcome = try await services.storeLabel(bytes, taskId: task, imageId: image, token: token, width: width, height: height)
        return Response(status: outcome == .unchanged ? .ok : .created)
    }
}
