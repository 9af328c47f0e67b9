import Foundation
import HTTPTypes
import Hummingbird
import Inference
import LabelAPI

/// Submit, list, inspect, cancel and retry jobs; export their results.
struct JobRoutes {
    let services: CoordinatorServices

    func register(on router: Router<CoordinatorContext>) {
        router.on(Routes.createJob) { request, context in try await create(request, context) }
        router.on(Routes.uploadManifest) { request, context in
            let (upload, bytes) = try await services.receiveManifest(request.body)
            return try json(ManifestUploadResponse(upload: upload, bytes: bytes), status: .created)
        }
        // Newest first, a page at a time: ?limit= (default 100, at most 500) and ?offset=; X-Total-Count says
        // how many jobs there are.
        router.on(Routes.jobs) { request, context in
            let limit = try request.queryNumber("limit", in: 0...500) ?? 100
            let offset = try request.queryNumber("offset", in: 0...Int.max) ?? 0
            let (statuses, total) = try await services.store.read("listing jobs") { db in
                let page = try services.store.jobsPage(db, limit: limit, offset: offset)
                return (try page.jobs.map { try services.status(db, of: $0) }, page.total)
            }
            var response = try json(statuses)
            response.headers[HTTPField.Name(Routes.totalCountHeader)!] = String(total)
            return response
        }
        router.on(Routes.job) { _, context in
            try json(try await status(try context.parameters.require("job")))
        }
        router.on(Routes.deleteJob) { _, context in
            let id = try context.parameters.require("job")
            let deleted = try await services.store.write("deleting job \(id)") { db in try services.store.deleteJob(db, id) }
            let embeddings = deleted.embeddingsSHA256.map { services.dataPath(DataLayout.embeddings($0)) }
            let manifest = deleted.manifest.map { services.dataPath($0) }
            let files = deleted.labelFiles.map { services.dataPath($0) } + [embeddings, manifest].compactMap { $0 }
            let folder = services.dataPath(DataLayout.labels(job: id))
            let pictures = [services.dataPath(DataLayout.thumbnails(job: id)), services.dataPath(DataLayout.confidenceMaps(job: id))]
            try await BlockingIO.run {
                files.forEach { unlink($0) }
                rmdir(folder)
                for folder in pictures { try? FileManager.default.removeItem(atPath: folder) }
            }
            return try json(DeleteJobResponse(id: id, images: deleted.images, labelFiles: deleted.labelFiles.count))
        }
        // The state changes in a write; the status is read after it, outside the write, so a large job's status
        // never holds up the fleet's claims and uploads.
        router.on(Routes.cancel) { _, context in
            let id = try context.parameters.require("job")
            try await services.store.write("cancelling job \(id)") { db in try services.store.cancelJob(db, id, reason: "cancelled by request") }
            return try json(try await status(id))
        }
        router.on(Routes.retryFailed) { _, context in
            let id = try context.parameters.require("job")
            let retried = try await services.store.write("retrying failed images of job \(id)") { db in try services.store.retryFailed(db, id) }
            services.workSignal.notify(count: retried)
            return try json(try await status(id))
        }
        router.on(Routes.retryImage) { _, context in
            let (id, image) = (try context.parameters.require("job"), try context.parameters.imageID())
            _ = try await services.store.write("retrying image \(image) of job \(id)") { db in try services.store.retryFailed(db, id, image: image) }
            services.workSignal.notify(count: 1)
            return try json(try await status(id))
        }
        router.on(Routes.results) { _, context in
            let id = try context.parameters.require("job")
            // A page of 10,000 images at a time, so a million-image job never sits in memory.
            let (first, last, sparse) = try await services.store.read("reading results of job \(id)") { db in
                (try services.resultLines(db, jobId: id, from: 0, count: 10_000), try services.store.lastPosition(db, jobId: id),
                 try services.store.job(db, id)?.options.tarShards == true)
            }
            let body = ResponseBody { writer in
                var page = first, from = 0
                while true {
                    if !page.isEmpty { try await writer.write(ByteBuffer(bytes: page)) }
                    from += 10_000
                    if sparse, from <= last {
                        let after = from
                        from = try await services.store.read("reading results of job \(id)") { db in
                            try services.store.nextImagePosition(db, jobId: id, from: after)
                        } ?? last + 1
                    }
                    guard from <= last else { break }
                    let next = from
                    page = try await services.store.read("reading results of job \(id)") { db in
                        try services.resultLines(db, jobId: id, from: next, count: 10_000)
                    }
                }
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: body)
        }
        router.on(Routes.events) { request, context in
            let id = try context.parameters.require("job")
            let after = try request.queryNumber("after", in: Int64(0)...Int64.max) ?? 0
            let limit = try request.queryNumber("limit", in: 1...10_000) ?? 1000
            return try json(try await services.store.read("reading events of job \(id)") { db in
                try services.store.events(db, jobId: id, after: after, limit: limit).map(\.wire)
            })
        }
        router.on(Routes.embeddings) { _, context in
            let id = try context.parameters.require("job")
            let path = try await services.store.read("reading job \(id)") { db in try services.embeddingsPath(db, jobId: id) }
            return try await services.fileResponse(path: path, contentType: "application/octet-stream",
                                                   what: "the class-embeddings file of \(id) in the coordinator's data directory", context: context)
        }
        router.on(Routes.outputShard) { _, context in
            let (job, name) = (try context.parameters.require("job"), try context.parameters.imageID("name"))
            guard ImageID.isSafe(job) else { throw CoordinatorError(.notFound, "no job \(job)") }
            try await services.store.read("reading job \(job)") { db in
                try services.refuseOutputRead(db, job: job, key: OutputLocation.shardKey(name), what: "the output shard \(name)")
            }
            return try await services.fileResponse(path: services.outputShardPath(job: job, name: name), contentType: "application/x-tar",
                                                   what: "the output shard \(name) of job \(job) (there once its task is done)", context: context)
        }
        router.on(Routes.label) { _, context in
            let (job, image) = (try context.parameters.require("job"), try context.parameters.imageID())
            let path = try await services.store.read("reading the label of \(image) in job \(job)") { db in
                guard let label = try services.store.label(db, jobId: job, imageId: image) else {
                    throw CoordinatorError(.notFound, "image \(image) of job \(job) has no label map")
                }
                try services.refuseOutputRead(db, job: job, key: label.relativePath, what: "the label map of \(image)")
                return services.dataPath(label.relativePath)
            }
            return try await services.fileResponse(path: path, contentType: "image/png", what: "the label map of \(image)", context: context)
        }
    }

    private func status(_ id: String) async throws -> JobStatus {
        try await services.store.read("reading job \(id)") { db in try services.status(db, jobId: id) }
    }

    private func create(_ request: Request, _ context: CoordinatorContext) async throws -> Response {
        let body = try await request.decodeJSON(CreateJobRequest.self, limit: services.configuration.maxJSONBytes)
        let (job, created) = try await BlockingIO.runLong { try services.createJob(body) }
        return try json(CreateJobResponse(id: job.id, created: created, images: job.imageCount, tasks: job.taskCount, state: job.state),
                        status: created ? .created : .ok)
    }
}
