import Coordinator
import Crypto
import Foundation
import Inference
import LabelAPI
import LabelClient
import Logging
import Support

/// What `labelmill run` was given, checked before anything is written: the settings, classes and templates, the
/// model directory and the manifest (or folder), which becomes the manifest the embedded coordinator gets.
struct RunInput {
    static let modelFiles = ["config.json", "model.safetensors", "vocab.json", "merges.txt"]

    let configuration: LocalRunConfiguration
    /// Relative paths made absolute (the local workers read files directly), or the folder's images as JSON Lines.
    let manifest: String

    init(_ configuration: LocalRunConfiguration) throws {
        self.configuration = configuration
        do { _ = try MaskCLIPOptions(configuration.settings) } catch { throw InferenceError(.badArgument, "settings.\(error)") }
        guard configuration.workers >= 1 else { throw InferenceError(.badArgument, "a run needs at least one worker") }
        let synonyms: [[String]]
        do { synonyms = try configuration.settings.synonymLists(for: configuration.classNames) } catch {
            throw InferenceError(.badArgument, "settings.\(error)")
        }
        try ClassEmbeddings.validate(classNames: configuration.classNames, synonyms: synonyms)
        _ = try PromptTemplates.named(configuration.settings.templates.rawValue)
        let model = configuration.modelDirectory
        try CLIPModel.checkDirectory(model)  // as `label` says it
        for file in Self.modelFiles where !FileManager.default.fileExists(atPath: model.appendingPathComponent(file).path) {
            throw InferenceError(.badModel, "\(model.path) has no \(file): a model directory holds \(Self.modelFiles.joined(separator: ", "))")
        }
        _ = try CLIPConfig.load(directory: model)
        let source = configuration.manifest
        if let shards = configuration.shards {
            guard configuration.settings.tarShards else { throw InferenceError(.badArgument, "shards need settings.tarShards") }
            let here = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
            manifest = shards.map { uri in
                uri.contains("://") || uri.hasPrefix("/") ? uri : here.appendingPathComponent(uri).standardizedFileURL.path
            }.joined(separator: "\n")
        } else {
            manifest = ImageFolder.isFolder(source.path) ? try Self.folderManifest(source) : try Self.absoluteManifest(source)
        }
    }

    /// One JSON line per image of the folder; its id is its path under the folder without the extension, with `/` and
    /// other characters ids may not hold as `_` (`cats/001 b.jpg` is `cats_001_b`).
    static func folderManifest(_ folder: URL) throws -> String {
        let entries = try ImageFolder.images(in: folder)
        guard !entries.isEmpty else {
            throw InferenceError(.badArgument, "the folder \(folder.path) has no images (.jpg, .jpeg or .png files, in subfolders too)")
        }
        let encoder = WireJSON.encoder()
        return try entries.map { entry in
            let line = ["id": ImageID.from(entry.name), "uri": entry.path]
            return String(decoding: try encoder.encode(line), as: UTF8.self)
        }.joined(separator: "\n")
    }

    /// The manifest with relative paths made absolute (relative to the manifest's folder). Lines end in "\n", "\r\n"
    /// or "\r". One without a usable line (empty, or only `gs://` URIs, say) is refused.
    static func absoluteManifest(_ url: URL) throws -> String {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            let reason = FileManager.default.fileExists(atPath: url.path) ? "not readable UTF-8 text" : "no such file or folder"
            throw InferenceError(.io, "cannot read the manifest \(url.path): \(reason)")
        }
        let base = url.deletingLastPathComponent()
        func absolute(_ uri: String) -> String {
            uri.contains("://") || uri.hasPrefix("/") || uri.isEmpty ? uri : base.appendingPathComponent(uri).standardizedFileURL.path
        }
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map { line -> String in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("{"), var object = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as? [String: Any],
               let uri = object["uri"] as? String {
                object["uri"] = absolute(uri)
                if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) {
                    return String(decoding: data, as: UTF8.self)
                }
            }
            return trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix("{") ? trimmed : absolute(trimmed)
        }
        let manifest = lines.joined(separator: "\n")
        // The coordinator's own parse: a manifest with no usable line is refused here, with its lines' reasons.
        do { _ = try Manifest.parse(manifest) } catch { throw InferenceError(.badArgument, "\(url.path): \(error.message)") }
        return manifest
    }

    /// Opens the embedded coordinator's store before it serves: the model's files become its blobs as hard links to
    /// the model directory (a copy only across file systems), so a run folder holds no second copy of the model; and
    /// leases of the previous run's workers, gone with that process, are given back at once without costing the
    /// images an attempt. Returns the model and how many leases were given back.
    func prepareStore(at coordinator: CoordinatorConfiguration, logger: Logger) throws -> (ModelRecord, Int) {
        let store = try Store(path: coordinator.databasePath, logger: logger)
        var files: [ModelFileEntry] = []
        for name in Self.modelFiles {
            let source = configuration.modelDirectory.appendingPathComponent(name).path
            let sha = try SHA256Hex.of(file: source)
            let relative = DataLayout.blob(sha)
            let destination = coordinator.dataDirectory.appendingPathComponent(relative).path
            if try store.blob(sha) == nil || !FileManager.default.fileExists(atPath: destination) {
                try Self.link(source, to: destination)
                let size = try FileManager.default.attributesOfItem(atPath: destination)[.size] as? Int64 ?? 0
                try store.recordBlob(sha256: sha, size: size, relativePath: relative)
            }
            let size = try FileManager.default.attributesOfItem(atPath: destination)[.size] as? Int64 ?? 0
            files.append(ModelFileEntry(name: name, sha256: sha, size: size))
        }
        let model = try store.registerModel(name: "local", files: files)
        // One OUT, one run: another run's labels would mix with this one's in labels/ (a rerun of the same one goes on).
        let key = idempotencyKey(model: model.id)
        if let other = try store.jobs(limit: 1000).first(where: { $0.idempotencyKey != key }) {
            throw LocalRunError("\(configuration.outputDirectory.path) holds the run of another input (\(other.name ?? other.id)) or other "
                                + "settings: its labels would mix with these. Use a new --out, or delete that folder first")
        }
        let released = try store.releaseAllLeases(reason: "the previous run stopped; its workers are gone")
        if released > 0 { logger.info("run.leases.released", metadata: ["tasks.count": "\(released)"]) }
        return (model, released)
    }

    /// `destination` becomes a hard link to `source`, or a copy when they are on different file systems.
    static func link(_ source: String, to destination: String) throws {
        try AtomicFile.createDirectories(AtomicFile.parentDirectory(of: destination))
        let temporary = AtomicFile.temporaryPath(for: destination)
        if Glibc.link(source, temporary) != 0 {
            guard errno == EXDEV || errno == EPERM else { throw FileError("link \(source) to", temporary, reason: String(cString: strerror(errno))) }
            try FileManager.default.copyItem(atPath: source, toPath: temporary)
        }
        try AtomicFile.commit(temporary, to: destination)
    }

    /// The same inputs give the same key, so a rerun finds its job again.
    func idempotencyKey(model: String) -> String {
        var hasher = SHA256()
        hasher.update(data: Data(manifest.utf8))
        hasher.update(data: Data(model.utf8))
        hasher.update(data: Data(configuration.classNames.joined(separator: "\n").utf8))
        let encoder = WireJSON.digestEncoder()
        hasher.update(data: (try? encoder.encode(configuration.settings)) ?? Data())
        return "run-" + SHA256Hex.hex(hasher.finalize())
    }
}
