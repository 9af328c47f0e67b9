import Foundation
import LabelAPI
import LabelClient
import Testing

/// Images in object storage, against a real S3-compatible server (moto, checking signatures): a manifest of s3://
/// URIs, a job built by `submit --from` a prefix, a worker with the wrong secret, and listings of many pages.
@Suite(.serialized, .enabled(if: S3TestServer.python != nil, "needs moto[server] from PyPI: run scripts/test-python"))
struct S3EndToEndTests {
    /// Keys with a space and non-ASCII letters, as photo archives have them.
    static let folder = "déjà vu/2026 été"

    /// Starts the server with the cluster's images under `prefix` (key = prefix + file name), and a text file and an
    /// image outside the prefix that a listing must leave out.
    static func server(for cluster: FaultCluster, prefix: String) throws -> S3TestServer {
        var objects: [String: URL] = [:]
        for image in cluster.images { objects["\(prefix)/\(image.file)"] = cluster.imageRoot.appendingPathComponent(image.file) }
        objects["\(prefix)/notes.txt"] = cluster.imageRoot.appendingPathComponent(cluster.images[0].file)
        objects["elsewhere/\(cluster.images[0].file)"] = cluster.imageRoot.appendingPathComponent(cluster.images[0].file)
        let server = try S3TestServer.start(bucket: "photos", objects: objects, log: cluster.directory.appendingPathComponent("s3.log"))
        cluster.onShutdown { server.stop() }
        return server
    }

    @Test(.timeLimit(.minutes(3)))
    func aManifestOfS3ObjectsIsLabeledAsFromDisk() async throws {
        let reference = try await FaultReference.labels()
        let cluster = try FaultCluster("s3-manifest", imageCount: 6)
        defer { cluster.shutdown() }
        let s3 = try Self.server(for: cluster, prefix: Self.folder)
        try await cluster.startCoordinator()
        let uris = Dictionary(uniqueKeysWithValues: cluster.images.map { ($0.id, "s3://photos/\(Self.folder)/\($0.file)") })
        try await cluster.submit(uris: uris)
        let home = cluster.directory.appendingPathComponent("home")
        try cluster.startWorker("w1", environment: s3.environment(home: home))
        try cluster.startWorker("w2", environment: s3.environment(home: home))
        try await cluster.waitForJobEnd()
        var figures = FaultCluster.Figures(scenario: "s3-manifest")
        try await cluster.verify(against: reference, figures: &figures)
        #expect(figures.done == 6 && figures.lost == 0, "\(figures)")
        let results = try await cluster.admin.results(cluster.job)
        #expect(Set(results.map(\.uri)) == Set(uris.values), "the results name the s3:// URIs")
    }

    /// `submit --from` lists the prefix (here a page of two keys at a time would take three pages; the server's
    /// default page is used) with the submitter's credentials; only images under the prefix become the job, with the
    /// ids a folder would give them; the coordinator never sees a credential.
    @Test(.timeLimit(.minutes(3)))
    func submitFromAPrefixLabelsWhatIsUnderIt() async throws {
        let reference = try await FaultReference.labels()
        let cluster = try FaultCluster("s3-from", imageCount: 6)
        defer { cluster.shutdown() }
        let s3 = try Self.server(for: cluster, prefix: Self.folder)
        try await cluster.startCoordinator()
        let home = cluster.directory.appendingPathComponent("home")
        try await cluster.submit(source: ["--from", "s3://photos/\(Self.folder)/"], environment: s3.environment(home: home))
        let status = try await cluster.admin.job(cluster.job)
        #expect(status.images.total == 6, "the four .png and two .jpg files under the prefix; not notes.txt, not elsewhere/")
        try cluster.startWorker("w1", environment: s3.environment(home: home))
        try await cluster.waitForJobEnd()
        var figures = FaultCluster.Figures(scenario: "s3-from")
        try await cluster.verify(against: reference, figures: &figures)
        #expect(figures.done == 6 && figures.lost == 0, "\(figures)")

        // A pattern narrows it to the JPEGs.
        let jpegs = try await LabelmillProcess.runToEnd(
            ["submit", "--coordinator", cluster.url, "--token-file", cluster.tokenFile, "--model", "tiny", "--classes", FaultCluster.classes,
             "--from", "s3://photos/\(Self.folder)/", "--pattern", "*.jpg", "--json"], environment: s3.environment(home: home))
        #expect(jpegs.status == 0, "\(jpegs.errors)")
        let id = try JSONDecoder().decode([String: String].self, from: Data(jpegs.output.utf8))["id"] ?? ""
        #expect(try await cluster.admin.job(id).images.total == cluster.images.filter { $0.file.hasSuffix(".jpg") }.count)

        // Nothing the coordinator stored or logged holds the secret.
        for file in try FileManager.default.subpathsOfDirectory(atPath: cluster.dataDirectory.path) {
            let data = FileManager.default.contents(atPath: cluster.dataDirectory.appendingPathComponent(file).path) ?? Data()
            #expect(data.range(of: Data(s3.secretAccessKey.utf8)) == nil, "the secret is in \(file)")
        }
        #expect(!(cluster.coordinator?.logText.contains(s3.secretAccessKey) ?? true))
    }

    @Test(.timeLimit(.minutes(2)))
    func aWrongSecretFailsThoseImagesWithTheReason() async throws {
        let cluster = try FaultCluster("s3-wrong-secret", imageCount: 4)
        defer { cluster.shutdown() }
        let s3 = try Self.server(for: cluster, prefix: "set")
        try await cluster.startCoordinator()
        let uris = Dictionary(uniqueKeysWithValues: cluster.images.map { ($0.id, "s3://photos/set/\($0.file)") })
        try await cluster.submit(uris: uris)
        try cluster.startWorker("w1", environment: s3.environment(home: cluster.directory.appendingPathComponent("home"), secret: "wrong-secret"))
        try await cluster.waitForJobEnd()
        let results = try await cluster.admin.results(cluster.job)
        #expect(results.count == 4 && results.allSatisfy { $0.status == .failed })
        for result in results {
            let error = result.error ?? ""
            #expect(error.contains("s3://photos/set/") && error.contains("HTTP 403 SignatureDoesNotMatch")
                    && error.contains("the secret key does not match the access key id; credentials: the environment"), "\(error)")
            #expect(!error.contains("wrong-secret"), "the secret itself is never shown")
        }
        // Credentials are named by their source only: neither the key id nor the secret is anywhere the
        // coordinator keeps or shows anything.
        let status = String(decoding: try JSONEncoder().encode(try await cluster.admin.job(cluster.job)), as: UTF8.self)
        for secret in [s3.accessKeyID, "wrong-secret"] {
            #expect(!status.contains(secret), "\(secret) is in the job's status")
            for file in try FileManager.default.subpathsOfDirectory(atPath: cluster.dataDirectory.path) {
                let data = FileManager.default.contents(atPath: cluster.dataDirectory.appendingPathComponent(file).path) ?? Data()
                #expect(data.range(of: Data(secret.utf8)) == nil, "\(secret) is in \(file)")
            }
        }
    }

    /// Keys are opaque: `p/x/../y.png` and `p/./z.png` are objects of their own next to `p/y.png` and `p/z.png`,
    /// and each image is labeled from its own object (libcurl used to remove the dot segments, so both were
    /// labeled from their neighbours and marked done).
    @Test(.timeLimit(.minutes(3)))
    func keysWithDotSegmentsNameTheirOwnObjects() async throws {
        let reference = try await FaultReference.labels()
        let cluster = try FaultCluster("s3-dot-keys", imageCount: 4)
        defer { cluster.shutdown() }
        // img0 and img3 are one picture, img1 and img2 two others: each pair of neighbours differs.
        let keys = ["img0": "p/x/../y.png", "img1": "p/y.png", "img2": "p/./z.png", "img3": "p/z.png"]
        let files = Dictionary(uniqueKeysWithValues: cluster.images.map { ($0.id, cluster.imageRoot.appendingPathComponent($0.file)) })
        let log = cluster.directory.appendingPathComponent("s3.log")
        let s3 = try S3TestServer.start(bucket: "photos", objects: Dictionary(uniqueKeysWithValues: keys.map { ($0.value, files[$0.key]!) }), log: log)
        cluster.onShutdown { s3.stop() }
        try await cluster.startCoordinator()
        try await cluster.submit(uris: keys.mapValues { "s3://photos/\($0)" })
        try cluster.startWorker("w1", environment: s3.environment(home: cluster.directory.appendingPathComponent("home")))
        try await cluster.waitForJobEnd()
        var figures = FaultCluster.Figures(scenario: "s3-dot-keys")
        try await cluster.verify(against: reference, figures: &figures)
        #expect(figures.done == 4 && figures.lost == 0, "\(figures)")
    }

    /// A listing of more keys than a page holds comes back whole, in order, decoded (spaces, accents, `+`, `%`).
    @Test(.timeLimit(.minutes(1)))
    func listingsFollowEveryPage() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("s3-pages-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("x.png")
        try Data([1, 2, 3]).write(to: file)
        let keys = ["p/a b.png", "p/c+d.png", "p/e%f.png", "p/sub/été.jpg", "p/z.png", "q/not-this.png"]
        let server = try S3TestServer.start(bucket: "pages", objects: Dictionary(uniqueKeysWithValues: keys.map { ($0, file) }),
                                            log: directory.appendingPathComponent("s3.log"))
        defer { server.stop() }
        let client = S3Client(configuration: server.configuration, http: HTTPClient())
        var pages: [[String]] = []
        try await client.list(S3Location(bucket: "pages", key: "p/"), pageSize: 2) { pages.append($0.map(\.key)) }
        #expect(pages == [["p/a b.png", "p/c+d.png"], ["p/e%f.png", "p/sub/été.jpg"], ["p/z.png"]])
        #expect(try await client.get(S3Location(bucket: "pages", key: "p/sub/été.jpg"), maxBytes: 10) == [1, 2, 3])
        await #expect(throws: S3Error.self) { try await client.get(S3Location(bucket: "pages", key: "p/missing.png"), maxBytes: 10) }

        let manifest = directory.appendingPathComponent("manifest.jsonl")
        let count = try await S3Manifest.write(from: S3Location(bucket: "pages", key: "p/"), pattern: nil, client: client, to: manifest.path)
        let lines = try String(contentsOf: manifest, encoding: .utf8).split(separator: "\n")
        #expect(count == 5 && lines.count == 5)
        #expect(lines[3] == #"{"id":"sub_été","uri":"s3://pages/p/sub/été.jpg"}"#)
    }
}
