import Foundation
import Hummingbird
import Inference
import LabelAPI
import LabelClient
import Logging
import Support

/// labelmill as Label Studio's ML backend (docs/LABEL-STUDIO.md): `GET /label-studio/health`, `POST /setup` and
/// `POST /predict` as Label Studio's connector calls them, Basic authentication with the admin token as the
/// password. A prediction makes a job of the tasks' images (the classes from the project's `<BrushLabels>`, the
/// model and settings of `serve --label-studio-model/--label-studio-settings`), waits within Label Studio's predict
/// timeout, and answers a brush region per class present for each image labeled; the others are answered on a later
/// call from the same job. Images Label Studio serves itself go to workers through the coordinator, which adds the
/// Label Studio API key (`GET /v1/label-studio-files/…`).
struct LabelStudioRoutes {
    let services: CoordinatorServices
    let logger: Logger
    /// Fetches the images Label Studio serves (its connections are kept between requests).
    let http = HTTPClient()
    var configuration: LabelStudioConfiguration { services.configuration.labelStudio }

    func register(on router: Router<CoordinatorContext>) {
        router.on(Routes.labelStudioHealth) { _, _ in
            try json(["status": "UP", "model_class": "labelmill"])
        }
        router.on(Routes.labelStudioSetup) { request, _ in
            let body = try await request.decodeJSON(SetupRequest.self, limit: services.configuration.maxJSONBytes)
            let config = try LabelStudioConfig(xml: body.schema ?? "")
            let model = try await model()
            logger.info("label-studio.setup", metadata: ["project": "\(body.project ?? "?")", "classes": "\(config.classes.count)"])
            return try json(["model_version": try basis(model: model, config: config).modelVersion])
        }
        router.on(Routes.labelStudioPredict) { request, _ in
            let body = try await request.decodeJSON(PredictRequest.self, limit: services.configuration.maxJSONBytes)
            return try json(try await predict(body))
        }
        router.on(Routes.labelStudioFile) { request, context in
            try await proxy(request, path: context.parameters.getCatchAll().joined(separator: "/"))
        }
    }

    struct SetupRequest: Decodable {
        var project: String?
        var schema: String?
    }

    struct PredictRequest: Decodable {
        struct Task: Decodable {
            var id: Int
            var data: [String: JSONValue]
        }
        var tasks: [Task]
        var project: String?
        var label_config: String?
    }

    /// A task data value: only strings are image URLs.
    enum JSONValue: Decodable {
        case string(String)
        case other

        init(from decoder: any Decoder) throws {
            self = (try? decoder.singleValueContainer().decode(String.self)).map(JSONValue.string) ?? .other
        }
    }

    /// One task's answer: a prediction (`result`), or, without one, why not (Label Studio logs it and makes none).
    struct Prediction: Encodable {
        var result: [LabelStudioRegion]?
        var score: Double?
        var model_version: String
        var error: String?
    }

    /// The model the predictions use: the one `--label-studio-model` names, or the coordinator's only one.
    private func model() async throws -> ModelRecord {
        try await services.store.read("finding the model for Label Studio") { db in
            if let name = configuration.model {
                guard let model = try services.store.model(db, name) else {
                    throw CoordinatorError(.unavailable, "no model named \(name) (serve --label-studio-model): register it with `labelmill model add`")
                }
                return model
            }
            let models = try services.store.models(db)
            guard models.count == 1, let only = models.first else {
                throw CoordinatorError(.unavailable, models.isEmpty ? "no model is registered: `labelmill model add` one"
                                       : "\(models.count) models are registered: name Label Studio's with serve --label-studio-model NAME")
            }
            return only
        }
    }

    /// The settings of the jobs predictions make: the configured ones, the project's synonyms, and confidence maps
    /// (a prediction's score is its label map's mean confidence) where the settings allow them.
    private func settings(_ config: LabelStudioConfig) -> JobSettings {
        var settings = configuration.settings
        settings.synonyms = settings.synonyms.merging(config.synonyms) { $1 }
        if settings.keySmoothing == 0 { settings.saveConfidence = true }
        return settings
    }

    /// What a project's predictions derive from, worked out once a call: the jobs' settings, and the model,
    /// settings and classes as the text that image keys and the model version are digests of.
    struct Basis {
        var model: ModelRecord
        var settings: JobSettings
        var text: String

        /// The key of an image: the same image, model, settings and classes are labeled once.
        func key(_ uri: String) -> String { SHA256Hex.of(Array((text + uri).utf8)) }

        /// Names what answers a project's predictions: the same model, settings and classes give the same version,
        /// so Label Studio asks again only for tasks without a prediction of it.
        var modelVersion: String { "labelmill-\(model.name)-\(key("").prefix(12))" }
    }

    private func basis(model: ModelRecord, config: LabelStudioConfig) throws -> Basis {
        let settings = settings(config)
        let encoder = WireJSON.digestEncoder()
        let json = String(decoding: try encoder.encode(settings), as: UTF8.self)
        return Basis(model: model, settings: settings, text: "\(model.id)\n\(json)\n\(config.classes.joined(separator: "\n"))\n\n")
    }

    /// Where a worker reads a task's image: Label Studio's own files through this coordinator, URLs as they are.
    private func imageURI(_ url: String) throws -> String {
        var path = url
        if let base = configuration.url, url.hasPrefix(base.hasSuffix("/") ? base : base + "/") {
            path = "/" + url.dropFirst(base.hasSuffix("/") ? base.count : base.count + 1)
        }
        guard path.hasPrefix("/data/") else { return url }
        guard configuration.url != nil, configuration.apiKey != nil else {
            throw CoordinatorError(.badRequest, "\(url) is served by Label Studio: start labelmill serve with LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY set")
        }
        return Routes.labelStudioFilesPrefix + path.dropFirst()
    }

    private func predict(_ body: PredictRequest) async throws -> [String: [Prediction]] {
        let config = try LabelStudioConfig(xml: body.label_config ?? "")
        let basis = try basis(model: try await model(), config: config)
        let version = basis.modelVersion
        // Each task's image: its key (the same image, model, settings and classes are labeled once) or why not.
        var keys: [Int: String] = [:], uris: [String: String] = [:], refused: [Int: String] = [:]
        for (index, task) in body.tasks.enumerated() {
            guard case .string(let url)? = task.data[config.dataKey] else {
                refused[index] = "task \(task.id) has no image URL in data.\(config.dataKey)"
                continue
            }
            do {
                let uri = try imageURI(url)
                let key = basis.key(uri)
                (keys[index], uris[key]) = (key, uri)
            } catch {
                refused[index] = "\(error)"
            }
        }
        let asked = Array(uris.keys)
        var jobs = try await services.store.read("finding Label Studio's images") { db in
            try services.store.labelStudioImages(db, keys: asked)
        }
        let new = uris.keys.filter { jobs[$0] == nil }.sorted()
        if !new.isEmpty {
            let images = new.map { (key: $0, image: "ls-\($0.prefix(20))") }
            let located = uris
            let manifest = try images.map { image in
                String(decoding: try JSONEncoder().encode(["id": image.image, "uri": located[image.key]!]), as: UTF8.self)
            }.joined(separator: "\n")
            let request = CreateJobRequest(name: "Label Studio project \(body.project ?? "?")", model: basis.model.id, classes: config.classes,
                                           settings: basis.settings, idempotencyKey: "label-studio-" + SHA256Hex.of(Array(new.joined(separator: ",").utf8)),
                                           manifest: manifest)
            let (job, _) = try await BlockingIO.runLong { try services.createJob(request) }
            try await services.store.write("recording Label Studio's images") { db in
                try services.store.recordLabelStudioImages(db, job: job.id, images: images)
            }
            for image in images { jobs[image.key] = (job.id, image.image) }
            logger.info("label-studio.job", metadata: ["job.id": "\(job.id)", "images.count": "\(images.count)", "project": "\(body.project ?? "?")"])
        }

        // Wait, within Label Studio's patience, for every image to be labeled or to fail.
        let deadline = ContinuousClock.now + configuration.wait
        var progress: [String: (state: ImageState, error: String?)] = [:]
        let targets = jobs
        while true {
            progress = try await services.store.read("reading Label Studio's images") { db in
                var states: [String: (state: ImageState, error: String?)] = [:]
                for (key, target) in targets { states[key] = try services.store.imageProgress(db, job: target.job, image: target.image) }
                return states
            }
            let waiting = jobs.keys.filter { progress[$0].map { !$0.state.isFinished } ?? false }
            if waiting.isEmpty || ContinuousClock.now >= deadline { break }
            try await Task.sleep(for: .milliseconds(250))
        }

        var results: [Prediction] = []
        for (index, task) in body.tasks.enumerated() {
            guard let key = keys[index], let target = jobs[key] else {
                let reason = refused[index] ?? "no image"
                logger.warning("label-studio.task.refused", metadata: ["task": "\(task.id)", "reason": "\(reason)"])
                results.append(Prediction(model_version: version, error: reason))
                continue
            }
            switch progress[key] {
            case (.done, _)?:
                results.append(try await prediction(task: task.id, target, config: config, version: version))
            case (.failed, let error)?:
                let reason = "\(uris[key] ?? "?") failed in job \(target.job): \(error ?? "failed")"
                logger.warning("label-studio.image.failed", metadata: ["task": "\(task.id)", "job.id": "\(target.job)", "reason": "\(reason)"])
                results.append(Prediction(model_version: version, error: reason))
            case nil:
                results.append(Prediction(model_version: version, error: "job \(target.job) was cancelled or deleted before labeling it"))
            default:
                results.append(Prediction(model_version: version, error: "still labeling in job \(target.job): retrieve predictions again"))
            }
        }
        return ["results": results]
    }

    /// A labeled image as brush regions, scored by its label map's mean confidence where the job kept one.
    private func prediction(task: Int, _ target: (job: String, image: String), config: LabelStudioConfig, version: String) async throws -> Prediction {
        guard let label = try await services.store.read("reading a label", { db in try services.store.label(db, jobId: target.job, imageId: target.image) }) else {
            throw CoordinatorError(.internalError, "image \(target.image) of job \(target.job) is done but has no label")
        }
        let (path, confidencePath) = (services.dataPath(label.relativePath), services.confidencePath(job: target.job, image: target.image))
        return try await BlockingIO.run {
            guard let bytes = FileManager.default.contents(atPath: path) else { throw CoordinatorError(.internalError, "the label map \(path) is missing") }
            let map = try ImageCodec.decodeLabelPNG([UInt8](bytes))
            var score: Double?
            if let confidence = FileManager.default.contents(atPath: confidencePath).flatMap({ try? ImageCodec.decodeLabelPNG([UInt8]($0)) }),
               !confidence.indices.isEmpty {
                score = Double(confidence.indices.reduce(0) { $0 + Int($1) }) / Double(confidence.indices.count * 255)
            }
            return Prediction(result: LabelStudioRegion.regions(map, classes: config.classes, from: config.fromName, to: config.toName,
                                                                idPrefix: "labelmill-\(task)"),
                              score: score, model_version: version)
        }
    }

    /// `GET /v1/label-studio-files/data/…`: the file from Label Studio, fetched with its API key (which workers never
    /// see). Only Label Studio's file routes (`data/upload/…`, `data/local-files/…`).
    private func proxy(_ request: Request, path: String) async throws -> Response {
        guard let base = configuration.url, let key = configuration.apiKey else {
            throw CoordinatorError(.unavailable, "this coordinator reaches no Label Studio: start labelmill serve with LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY set")
        }
        guard path.hasPrefix("data/upload/") || path.hasPrefix("data/local-files"), !path.split(separator: "/").contains("..") else {
            throw CoordinatorError(.notFound, "only Label Studio's files (data/upload/…, data/local-files/…) are served here")
        }
        let query = request.uri.query.map { "?" + $0 } ?? ""
        let url = (base.hasSuffix("/") ? base : base + "/") + path + query
        let response: ClientResponse
        do {
            response = try await http.send(ClientRequest(url: url, headers: ["Authorization": "Token \(key)"], timeout: .seconds(120)))
        } catch {
            throw CoordinatorError(.unavailable, "Label Studio at \(base) did not answer: \(error.message)")
        }
        guard response.isSuccess else {
            let code: CoordinatorError.Code = response.status == 404 ? .notFound : response.status == 403 || response.status == 401 ? .forbidden : .unavailable
            throw CoordinatorError(code, "Label Studio answered \(response.status) for /\(path)")
        }
        return Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: .init(byteBuffer: ByteBuffer(bytes: response.body)))
    }
}
