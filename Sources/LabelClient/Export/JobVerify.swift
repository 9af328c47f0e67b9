import Foundation
import LabelAPI
import Support

/// `labelmill verify JOB`: checks every receipt of a job with an output (docs/STORAGE.md) against the storage, with
/// this machine's credentials: each labeled image's label map (and confidence map) must be there with the bytes its
/// worker reported. It streams like `export`: the results come to disk, then are read a line at a time; objects are
/// read a few at a time, a shard's samples with one download of the output shard.
public enum JobVerify {
    /// A receipt the storage does not bear out.
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public var id: String
        public var location: String
        /// `missing` (with the storage's reason), `differs` (the digests), or why it could not be read.
        public var what: String
        public var description: String { "\(id): \(location): \(what)" }
    }

    public struct Summary: Sendable {
        public var output: String
        /// Label and confidence maps checked.
        public var labels = 0
        public var confidenceMaps = 0
        public var problems: [Problem] = []
    }

    /// How many objects are read at once.
    static let parallelReads = 8

    public static func run(client: CoordinatorClient, job: String, scratch: URL, s3: Result<S3Configuration, S3Error>,
                           progress: @Sendable (Int) -> Void = { _ in }) async throws -> Summary {
        let status = try await client.job(job)
        guard let location = status.settings.outputLocation else {
            throw CurlError(.io, "job \(job) has no output: its labels are on the coordinator, which checked each as it took it "
                            + "(labelmill export reads them)")
        }
        let store = OutputStore(location, s3: s3.map { S3Client(configuration: $0, http: client.http, retry: client.retry) })
        try CurlError.file { () throws(FileError) in try AtomicFile.createDirectories(scratch.path) }
        let resultsPath = scratch.appendingPathComponent("results-\(UUID().uuidString).jsonl").path
        defer { unlink(resultsPath) }
        try await JobExport.downloadResults(client: client, job: job, to: resultsPath)

        var summary = Summary(output: location.description)
        var objects: [Expected] = []
        var shard: (key: String, samples: [Expected])?
        for try await line in ResultLines(path: resultsPath) {
            let result = try JSONDecoder().decode(ImageResultLine.self, from: Data(line))
            guard result.status == .done, let label = result.label, let sha = result.sha256 else { continue }
            var expected = [Expected(id: result.id, uri: label, sha256: sha)]
            if let confidence = result.confidence, let sha = result.confidenceSHA256 {
                expected.append(Expected(id: result.id, uri: confidence, sha256: sha))
            }
            summary.labels += 1
            summary.confidenceMaps += expected.count - 1
            for item in expected {
                let key = store.key(of: item.uri)
                let (object, member) = OutputLocation.split(key)
                guard member != nil else {
                    objects.append(item)
                    if objects.count >= 256 {
                        summary.problems += await check(objects, in: store)
                        objects.removeAll(keepingCapacity: true)
                    }
                    continue
                }
                // A shard's samples come together (results are in shard order): one download checks them all.
                if let current = shard, current.key != object {
                    summary.problems += await check(shard: current.key, current.samples, in: store, scratch: scratch)
                    shard = nil
                }
                shard = (object, (shard?.samples ?? []) + [item])
            }
            if summary.labels % 10_000 == 0 { progress(summary.labels) }
        }
        summary.problems += await check(objects, in: store)
        if let current = shard { summary.problems += await check(shard: current.key, current.samples, in: store, scratch: scratch) }
        return summary
    }

    struct Expected: Sendable {
        var id: String
        var uri: String
        var sha256: String
    }

    /// Objects of their own, `parallelReads` at a time.
    private static func check(_ items: [Expected], in store: OutputStore) async -> [Problem] {
        await withTaskGroup(of: Problem?.self) { group in
            var problems: [Problem] = [], next = 0
            func add() {
                let item = items[next]
                next += 1
                group.addTask {
                    do throws(OutputStore.Failure) {
                        let bytes = try await store.read(store.key(of: item.uri), maxBytes: 1 << 30)
                        return compare(item, SHA256Hex.of(bytes))
                    } catch {
                        return Problem(id: item.id, location: item.uri, what: error.missing ? "missing (\(error))" : "unreadable: \(error)")
                    }
                }
            }
            while next < min(items.count, parallelReads) { add() }
            for await problem in group {
                if let problem { problems.append(problem) }
                if next < items.count { add() }
            }
            return problems.sorted { $0.location < $1.location }
        }
    }

    /// The members of one output shard.
    private static func check(shard key: String, _ items: [Expected], in store: OutputStore, scratch: URL) async -> [Problem] {
        let uri = store.location.uri(of: key)
        let shard: OutputShardFile
        do {
            shard = try await OutputShardFile(key, store: store, scratch: scratch)
        } catch let error as OutputStore.Failure {
            return items.map { Problem(id: $0.id, location: $0.uri, what: error.missing ? "missing: the output shard \(uri) is not there (\(error))" : "unreadable: \(error)") }
        } catch {
            return items.map { Problem(id: $0.id, location: $0.uri, what: "unreadable: the output shard \(uri): \(error)") }
        }
        defer { shard.remove() }
        return items.compactMap { item in
            let member = OutputLocation.split(store.key(of: item.uri)).member ?? ""
            do {
                guard let bytes = try shard.member(member) else {
                    return Problem(id: item.id, location: item.uri, what: "missing: the output shard \(uri) has no \(member)")
                }
                return compare(item, SHA256Hex.of(bytes))
            } catch {
                return Problem(id: item.id, location: item.uri, what: "unreadable: \(member) of the output shard \(uri): \(error)")
            }
        }
    }

    private static func compare(_ item: Expected, _ sha: String) -> Problem? {
        sha == item.sha256 ? nil
            : Problem(id: item.id, location: item.uri, what: "differs: sha256 \(sha.prefix(16))… in storage, \(item.sha256.prefix(16))… in the receipt")
    }
}
