import Foundation
import HTTPTypes
import Hummingbird
import Inference
import LabelAPI
import ServiceLifecycle

/// The worker side: claim a task, keep its lease alive, upload label maps or fail images, complete or release.
struct TaskRoutes {
    let services: CoordinatorServices

    static let imageWidthHeader = HTTPField.Name(Routes.imageWidthHeader)!
    static let imageHeightHeader = HTTPField.Name(Routes.imageHeightHeader)!
    static let leaseTokenHeader = HTTPField.Name(Routes.leaseTokenHeader)!
    /// Uploads larger than this are checked against their lease before their body is read.
    static let checkedFirstBytes = 1 << 20

    func register(on router: Router<CoordinatorContext>) {
        router.on(Routes.claim) { request, context in
            let claim = try await request.decodeJSON(ClaimRequest.self, limit: 1 << 16)
            let deadline = ContinuousClock.now + .milliseconds(Int(min(max(claim.waitSeconds, 0), 60) * 1000))
            // The first try also records that the worker was seen; a long poll then sleeps until work may be
            // there. Woken by a signal of new work, it claims at once; after its 2 s timeout it checks with a read
            // first, so idle workers cost one cheap read every 2 s, not a write.
            var tryClaim = true
            while true {
                if tryClaim, let (assignment, job) = try await services.store.batched("claiming a task for \(claim.worker)", { db in
                    try services.claimWithJob(db, worker: claim.worker, name: claim.name)
                }) {
                    let body = AssignmentJSON.encode(assignment, settings: try services.jobCache.settingsJSON(job))
                    return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
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
            try await services.complete(taskId: task, token: lease.leaseToken)
            return Response(status: .noContent)
        }
        router.on(Routes.declareSamples) { request, context in
            let task = try context.parameters.require("task", as: Int64.self)
            let declaration = try await request.decodeJSON(SampleDeclaration.self, limit: 256 << 20)
            let declared = try await services.store.batched("declaring the samples of task \(task)") { db in
                try services.store.declareSamples(db, taskId: task, token: declaration.leaseToken, samples: declaration.samples)
            }
            return try json(SampleDeclarationResponse(todo: declared.todo, refused: declared.refused, failed: declared.failed))
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
                try services.store.failImage(db, taskId: task, token: failure.leaseToken, imageId: image, reason: failure.reason)
            }
            return Response(status: .noContent)
        }
        router.on(Routes.receipt) { request, context in
            let (task, image) = (try context.parameters.require("task", as: Int64.self), try context.parameters.imageID())
            let receipt = try await request.decodeJSON(LabelReceipt.self, limit: 1 << 16)
            let outcome = try await services.recordReceipt(receipt, taskId: task, imageId: image)
            return Response(status: outcome == .unchanged ? .ok : .created)
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
            let limit = CoordinatorServices.thumbnailMaxBytes
            try await receive(request, context, limit: limit, what: "thumbnails") { task, image, token, bytes in
                try await BlockingIO.run { try services.storeThumbnail(bytes, taskId: task, token: token, imageId: image) }
            }
            return Response(status: .noContent)
        }
        router.on(Routes.uploadConfidence) { request, context in
            let (width, height) = try Self.imageSize(request)
            let limit = services.configuration.maxLabelBytes
            try await receive(request, context, limit: limit, what: "confidence maps", decodedBytes: Self.pixels(width, height)) { task, image, token, bytes in
                try await BlockingIO.run {
                    try services.storeConfidence(bytes, taskId: task, token: token, imageId: image, width: width, height: height)
                }
            }
            return Response(status: .noContent)
        }
    }

    /// Reads an upload's body (a label, thumbnail or confidence map) and hands it to `store`, in this order: a
    /// declared length over `limit` is refused from the headers; a body of over `checkedFirstBytes` (or of no
    /// declared length) has its task, lease token and image checked before a byte of it is read, so a bogus or
    /// stale large upload costs its headers only (smaller ones, the usual label maps and thumbnails, skip that
    /// extra read: `store` checks them anyway); then the body is read within the upload budget (`UploadBudget`),
    /// which holds its bytes and the decoded map it may become, until `store` is done with them.
    private func receive<T: Sendable>(
        _ request: Request, _ context: CoordinatorContext, limit: Int, what: String, decodedBytes: Int = 0,
        store: @escaping @Sendable (_ task: Int64, _ image: String, _ token: String, _ bytes: [UInt8]) async throws -> T
    ) async throws -> T {
        let (task, image) = (try context.parameters.require("task", as: Int64.self), try context.parameters.imageID())
        guard let token = request.headers[Self.leaseTokenHeader] else {
            throw CoordinatorError(.badRequest, "missing \(Routes.leaseTokenHeader) header")
        }
        let declared = request.headers[.contentLength].flatMap(Int.init)
        if let declared, declared > limit { throw CoordinatorError(.tooLarge, "\(what) are limited to \(limit) bytes") }
        guard ImageID.isSafe(image) else { throw CoordinatorError(.notFound, "no image \(image.debugDescription) in task \(task)") }
        if declared ?? Int.max > Self.checkedFirstBytes {
            _ = try await services.store.read("checking an upload to \(image) in task \(task)") { db in
                try services.store.uploadTarget(db, taskId: task, token: token, imageId: image)
            }
        }
        return try await services.uploads.withReservation((declared ?? limit) + decodedBytes) {
            // Straight into one array: the body is held once, not as a buffer and a copy of it.
            var bytes: [UInt8] = []
            bytes.reserveCapacity(declared ?? 0)
            for try await chunk in request.body {
                guard bytes.count + chunk.readableBytes <= limit else {
                    throw CoordinatorError(.tooLarge, "\(what) are limited to \(limit) bytes")
                }
                bytes.append(contentsOf: chunk.readableBytesView)
            }
            return try await store(task, image, token, bytes)
        }
    }

    private func lease(_ request: Request) async throws -> LeaseRequest {
        try await request.decodeJSON(LeaseRequest.self, limit: 1 << 16)
    }

    /// Validates the PNG (decodes, the source's size, values < K or 255), stores it content-addressed and
    /// atomically, then records it under the lease; a stale lease gets 409 and its file is removed.
    private func upload(_ request: Request, _ context: CoordinatorContext) async throws -> Response {
        let (width, height) = try Self.imageSize(request)
        let outcome = try await receive(request, context, limit: services.configuration.maxLabelBytes, what: "label maps",
                                        decodedBytes: Self.pixels(width, height)) { task, image, token, bytes in
            try await services.storeLabel(bytes, taskId: task, imageId: image, token: token, width: width, height: height)
        }
        return Response(status: outcome == .unchanged ? .ok : .created)
    }

    /// The source image's size, which label and confidence uploads state in `X-Image-Width` / `X-Image-Height`.
    private static func imageSize(_ request: Request) throws -> (Int, Int) {
        guard let width = request.headers[imageWidthHeader].flatMap(Int.init),
              let height = request.headers[imageHeightHeader].flatMap(Int.init) else {
            throw CoordinatorError(.badRequest, "missing X-Image-Width / X-Image-Height (the source image's size)")
        }
        return (width, height)
    }

    /// The bytes a map of that size decodes to, as the upload budget counts them.
    private static func pixels(_ width: Int, _ height: Int) -> Int {
        let pixels = width.multipliedReportingOverflow(by: height)
        return pixels.overflow ? ImageCodec.defaultMaxPixels : min(max(pixels.partialValue, 0), ImageCodec.defaultMaxPixels)
    }
}
