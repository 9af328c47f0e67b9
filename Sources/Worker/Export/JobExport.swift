import Foundation
import Inference
import LabelAPI
import Support

/// `labelmill export`: a job's label maps, class list and per-image results in a directory. Files are written
/// atomically, so an interrupted export leaves no torn files and a rerun completes it.
public enum JobExport {
    public struct Summary: Sendable {
        public var labels: Int
        public var results: Int
        /// Images that failed (their reasons are in results.jsonl).
        public var failed: Int
    }

    public static func run(client: CoordinatorClient, job: String, to directory: URL) async throws -> Summary {
        let status = try await client.job(job)
        let labels = directory.appendingPathComponent("labels")
        let classes = [UInt8](try ClassList(status.classes).json())
        try CurlError.file { () throws(FileError) in
            try AtomicFile.createDirectories(labels.path)
            try AtomicFile.write(classes, to: directory.appendingPathComponent("classes.json").path)
        }
        // results.jsonl comes straight to disk (a million-image job is a few hundred MB), then is read a line
        // at a time for the label maps to fetch.
        let resultsPath = directory.appendingPathComponent("results.jsonl").path
        _ = try await client.http.download(
            DownloadRequest(url: client.url(Routes.results, [job]), destination: resultsPath, resume: false,
                            headers: ["Authorization": "Bearer \(client.token)"]),
            retry: client.retry)
        var count = 0, written = 0, failed = 0
        for try await line in ResultLines(path: resultsPath) {
            count += 1
            let result = try JSONDecoder().decode(ImageResultLine.self, from: Data(line))
            if result.status == .failed { failed += 1 }
            guard result.status == .done, let sha = result.sha256 else { continue }
            if let problem = ImageID.problem(result.id) {
                throw CurlError(.io, "image id \(result.id.debugDescription) \(problem): not written")
            }
            let path = labels.appendingPathComponent("\(result.id).png")
            if let existing = FileManager.default.contents(atPath: path.path), SHA256Hex.of(existing) == sha {
                written += 1
                continue
            }
            let png = try await client.labelPNG(job: job, image: result.id)
            guard SHA256Hex.of(png) == sha else {
                throw CurlError(.checksumMismatch, "label map of \(result.id) does not match its recorded sha256")
            }
            try CurlError.file { () throws(FileError) in try AtomicFile.write(png, to: path.path) }
            written += 1
        }
        return Summary(labels: written, results: count, failed: failed)
    }
}

/// The lines of a file, read 1 MiB at a time.
private struct ResultLines: AsyncSequence {
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
