import Foundation
import Inference
import LabelAPI

/// `labelmill export`: a job's label maps, class list and per-image results in a directory. Files are written
/// atomically, so an interrupted export leaves no torn files and a rerun completes it.
public enum JobExport {
    public struct Summary: Sendable {
        public var labels: Int
        public var results: Int
    }

    public static func run(client: CoordinatorClient, job: String, to directory: URL) async throws -> Summary {
        let status = try await client.job(job)
        let results = try await client.results(job)
        let labels = directory.appendingPathComponent("labels")
        try FileManager.default.createDirectory(at: labels, withIntermediateDirectories: true)
        try ClassList(status.classes).json().write(to: directory.appendingPathComponent("classes.json"), options: .atomic)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var lines = Data()
        var written = 0
        for result in results {
            lines.append(try encoder.encode(result))
            lines.append(0x0A)
            guard result.status == "done", let sha = result.sha256 else { continue }
            let path = labels.appendingPathComponent("\(result.id).png")
            if let existing = FileManager.default.contents(atPath: path.path), FileDigest.sha256([UInt8](existing)) == sha {
                written += 1
                continue
            }
            let png = try await client.labelPNG(job: job, image: result.id)
            guard FileDigest.sha256(png) == sha else {
                throw CurlError(.checksumMismatch, "label map of \(result.id) does not match its recorded sha256")
            }
            try Data(png).write(to: path, options: .atomic)
            written += 1
        }
        try lines.write(to: directory.appendingPathComponent("results.jsonl"), options: .atomic)
        return Summary(labels: written, results: results.count)
    }
}
