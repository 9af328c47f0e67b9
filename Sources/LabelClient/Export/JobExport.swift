import Foundation
import Inference
import LabelAPI
import Support

/// `labelmill export`: a job's label maps in one of the `ExportFormat` layouts, with classes.json and results.jsonl
/// (every image's state and, for failures, the reason). It streams: results.jsonl comes to disk first and is read a
/// line at a time, each label map (and image, for layouts that copy them) is fetched, checked and written before the
/// next, so memory does not grow with the job. Files are written atomically; a rerun completes an interrupted export.
public enum JobExport {
    public struct Summary: Sendable {
        public var labels: Int
        public var results: Int
        /// Images that failed (their reasons are in results.jsonl).
        public var failed: Int
        /// Labeled images left out because the exporting machine could not read the image, with the reasons.
        public var unreadable: [String] = []
        /// A WebDataset job's output shards written to `shards/`, and those not there yet (their task is not done).
        public var shards = 0
        public var shardsPending: [String] = []
    }

    public struct Options: Sendable {
        public var format: ExportFormat
        /// Label Studio: task images at `imageBaseURL` + id instead of their manifest URIs.
        public var imageBaseURL: String?
        public var maxImageBytes: Int

        public init(format: ExportFormat = .labelmill, imageBaseURL: String? = nil, maxImageBytes: Int = 256 << 20) {
            self.format = format
            self.imageBaseURL = imageBaseURL
            self.maxImageBytes = maxImageBytes
        }
    }

    public static func run(client: CoordinatorClient, job: String, to directory: URL, options: Options = .init()) async throws -> Summary {
        let status = try await client.job(job)
        let synonyms = (try? status.settings.synonymLists(for: status.classes)) ?? []
        let classes = [UInt8](try ClassList(status.classes, synonyms: synonyms).json())
        try CurlError.file { () throws(FileError) in
            try AtomicFile.createDirectories(directory.path)
            try AtomicFile.write(classes, to: directory.appendingPathComponent("classes.json").path)
        }
        // results.jsonl comes straight to disk (a million-image job is a few hundred MB), then is read a line
        // at a time for the label maps to fetch.
        let resultsPath = directory.appendingPathComponent("results.jsonl").path
        try await downloadResults(client: client, job: job, to: resultsPath)
        var writer = try makeWriter(options, directory: directory, classes: status.classes, job: job)
        let fetcher = ImageFetcher(client: client, maxBytes: options.maxImageBytes, timeout: .seconds(120))
        // A job with an output: its labels and output shards are read from there, with this machine's credentials.
        let store = status.settings.outputLocation.map { OutputStore($0, s3: fetcher.s3) }
        var summary = Summary(labels: 0, results: 0, failed: 0)
        var shards: [String] = [], seen = Set<String>()
        var shardReader: OutputShardFile?
        defer { shardReader?.remove() }
        for try await line in ResultLines(path: resultsPath) {
            summary.results += 1
            let result = try JSONDecoder().decode(ImageResultLine.self, from: Data(line))
            if status.settings.tarShards, let hash = result.uri.firstIndex(of: "#") {
                let name = ShardSpec.name(of: String(result.uri[..<hash]))
                if seen.insert(name).inserted { shards.append(name) }
            }
            if result.status == .failed { summary.failed += 1 }
            guard result.status == .done, let sha = result.sha256 else { continue }
            if let problem = ImageID.problem(result.id) {
                throw CurlError(.io, "image id \(result.id.debugDescription) \(problem): not written")
            }
            let confidencePath = directory.appendingPathComponent("confidence/\(result.id).png").path
            if options.format == .labelmill, let existing = FileManager.default.contents(atPath: directory.appendingPathComponent("labels/\(result.id).png").path),
               SHA256Hex.of(existing) == sha, !status.settings.saveConfidence || FileManager.default.fileExists(atPath: confidencePath) {
                summary.labels += 1
                continue
            }
            let png = try await labelPNG(result, job: job, client: client, store: store, shard: &shardReader, scratch: directory)
            guard SHA256Hex.of(png) == sha else {
                throw CurlError(.checksumMismatch, "label map of \(result.id) does not match its recorded sha256")
            }
            var item = ExportItem(id: result.id, uri: result.uri, labelPNG: png)
            if options.format.copiesImages {
                do {
                    // Through the coordinator when it serves the image (a relative path under --image-root).
                    let bytes = try await fetcher.fetch(result.fetch ?? result.uri)
                    item.image = (bytes, try ImageFormat(sniffing: bytes).fileExtension)
                } catch {
                    summary.unreadable.append("\(result.id): \(error)")
                    continue
                }
            }
            try writer.add(item)
            if status.settings.saveConfidence {
                let confidence = if let store, let uri = result.confidence {
                    try await store.read(store.key(of: uri), maxBytes: options.maxImageBytes)
                } else {
                    try await client.confidencePNG(job: job, image: result.id)
                }
                try exportConfidence(confidence, image: result.id, label: png, to: confidencePath)
            }
            summary.labels += 1
        }
        try writer.finish()
        for name in shards {
            guard ImageID.problem(name) == nil else { throw CurlError(.io, "shard name \(name.debugDescription) is not a safe file name: not written") }
            if try await downloadShard(client: client, store: store, job: job, name: name, to: directory.appendingPathComponent("shards/\(name)").path) {
                summary.shards += 1
            } else {
                summary.shardsPending.append(name)  // its task is not done
            }
        }
        AtomicFile.syncEverything()
        return summary
    }

    /// The job's results.jsonl, streamed to `path` (a million-image job is a few hundred MB).
    static func downloadResults(client: CoordinatorClient, job: String, to path: String) async throws {
        _ = try await client.http.download(
            DownloadRequest(url: client.url(Routes.results, [job]), destination: path, resume: false,
                            headers: ["Authorization": "Bearer \(client.token)"]),
            retry: client.retry)
    }

    /// The label map of a done image: from the job's output (a shard's sample from its output shard, which is
    /// fetched once and kept for the next samples), else from the coordinator.
    private static func labelPNG(_ result: ImageResultLine, job: String, client: CoordinatorClient, store: OutputStore?,
                                 shard: inout OutputShardFile?, scratch: URL) async throws -> [UInt8] {
        guard let store, let uri = result.label else { return try await client.labelPNG(job: job, image: result.id) }
        let (object, member) = OutputLocation.split(store.key(of: uri))
        guard let member else { return try await store.read(object, maxBytes: 1 << 30) }
        if shard?.key != object {
            shard?.remove()
            shard = nil
            do { shard = try await OutputShardFile(object, store: store, scratch: scratch) } catch let error as OutputStore.Failure {
                throw CurlError(.io, error.description)
            }
        }
        guard let bytes = try shard?.member(member) else {
            throw CurlError(.io, "the output shard \(store.location.uri(of: object)) has no \(member), which the receipt of \(result.id) names")
        }
        return bytes
    }

    /// A WebDataset job's output shard, written atomically; false when there is none (yet): its task is not done.
    private static func downloadShard(client: CoordinatorClient, store: OutputStore?, job: String, name: String, to path: String) async throws -> Bool {
        if let store {
            do throws(OutputStore.Failure) {
                try await store.copy(OutputLocation.shardKey(name), to: path)
                return true
            } catch {
                if error.missing { return false }
                throw CurlError(.io, error.description)
            }
        }
        do {
            _ = try await client.http.download(
                DownloadRequest(url: client.url(Routes.outputShard, [job, name]), destination: path, resume: false,
                                headers: ["Authorization": "Bearer \(client.token)"]),
                retry: client.retry)
            return true
        } catch {
            if error.code == .httpStatus(404) { return false }
            throw error
        }
    }

    /// The image's confidence map, checked to be an 8-bit map of its label map's size, as confidence/<id>.png.
    private static func exportConfidence(_ png: [UInt8], image: String, label: [UInt8], to path: String) throws {
        let (map, confidence) = (try ImageCodec.decodeLabelPNG(label), try? ImageCodec.decodeLabelPNG(png))
        guard let confidence, confidence.width == map.width, confidence.height == map.height else {
            throw CurlError(.io, "the confidence map of \(image) is not an 8-bit map of its label's size (\(map.width)x\(map.height))")
        }
        try CurlError.file { () throws(FileError) in
            try AtomicFile.createDirectories((path as NSString).deletingLastPathComponent)
            try ExportFile.write(png, to: path)
        }
    }

    private static func makeWriter(_ options: Options, directory: URL, classes: [String], job: String) throws -> any ExportWriter {
        switch options.format {
        case .labelmill: LabelmillWriter(directory: directory)
        case .mmseg: try MMSegWriter(directory: directory, classes: classes)
        case .coco: try COCOWriter(directory: directory, classes: classes, job: job)
        case .labelStudio: try LabelStudioWriter(directory: directory, classes: classes, job: job, imageBaseURL: options.imageBaseURL)
        case .cvat: try CVATWriter(directory: directory, classes: classes)
        case .hf: try HFWriter(directory: directory, classes: classes, job: job)
        }
    }
}

/// The lines of a file, read 1 MiB at a time.
struct ResultLines: AsyncSequence {
    typealias Element = [UInt8]
    let path: String

    func makeAsyncIterator() -> Iterator { Iterator(handle: FileHandle(forReadingAtPath: path)) }

    struct Iterator: AsyncIteratorProtocol {
        let handle: FileHandle?
        var buffer: [UInt8] = []
        var position = 0
        var atEnd = false

        mutating func next() async throws -> [UInt8]? {
            while true {
                if let newline = buffer[position...].firstIndex(of: UInt8(ascii: "\n")) {
                    defer { position = newline + 1 }
                    return Array(buffer[position..<newline])
                }
                if atEnd {
                    defer { position = buffer.count }
                    return position < buffer.count ? Array(buffer[position...]) : nil
                }
                buffer = Array(buffer[position...])
                position = 0
                let chunk = try handle?.read(upToCount: 1 << 20) ?? Data()
                if chunk.isEmpty { atEnd = true } else { buffer += chunk }
            }
        }
    }
}

/// An output shard read from a job's output into a scratch file, its members indexed by name (`export` and
/// `verify` read a shard's samples from it). Throws `OutputStore.Failure` when the storage does not give it.
final class OutputShardFile {
    let key: String
    private let path: String
    private let reader: TarReader
    private var entries: [String: TarReader.Entry] = [:]

    init(_ key: String, store: OutputStore, scratch: URL) async throws {
        self.key = key
        let temporary = scratch.appendingPathComponent(".output-shard-\(UUID().uuidString).tar").path
        path = try await store.file(key, downloadingTo: temporary)
        reader = try TarReader(path: path)
        while let entry = try reader.nextEntry() { entries[entry.name] = entry }
        if path != temporary { unlink(temporary) }
    }

    func member(_ name: String) throws -> [UInt8]? { try entries[name].map { try reader.bytes(of: $0) } }

    /// Removes the scratch copy (a folder output's shard is read in place and stays).
    func remove() { if path.contains("/.output-shard-") { unlink(path) } }
}
