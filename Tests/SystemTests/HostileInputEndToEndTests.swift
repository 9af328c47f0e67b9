import Coordinator
import Foundation
import LabelAPI
import LabelClient
import Runner
import Testing

/// The attack on the coordinator, replayed against real processes: a manifest with lines of megabytes, a holder of
/// the worker token flooding uploads, credentials in what workers report. Each test is shaped like the reproduction
/// that found the hole (rough-edges issue, items 19, 21 and 22; the S3 key item, 20, is in `S3EndToEndTests`).
@Suite struct HostileInputEndToEndTests {
    /// A 50 MB line, twenty 8 KB lines and a 10 KB id next to good images: each long line fails alone with a
    /// clipped reason, the good images are labeled, and status, the job list, retry and results answer at once
    /// (before the fix a status of this job ran for over twelve minutes; the time limit is what catches that).
    @Test(.timeLimit(.minutes(3)))
    func longManifestLinesFailAloneAndStatusStaysCheap() async throws {
        let cluster = try FaultCluster("long-lines", imageCount: 4)
        defer { cluster.shutdown() }
        try await cluster.startCoordinator()
        let huge = "http://images.example/" + String(repeating: "a", count: 50_000_000) + ".png"
        let eightKB = (0..<20).map { #"{"id": "long\#($0)", "uri": "gs://bucket/\#(String(repeating: "b", count: 8_000))\#($0).png"}"# }
        let longId = #"{"id": "\#(String(repeating: "c", count: 10_000))", "uri": "x.png"}"#
        try await cluster.submit(extraLines: [huge] + eightKB + [longId])
        try cluster.startWorker("w1")
        try await cluster.waitForJobEnd()

        let clock = ContinuousClock()
        let started = clock.now
        let status = try await cluster.admin.job(cluster.job)
        _ = try await cluster.admin.jobs()
        print("long manifest lines: status and job list in \(clock.now - started)")
        #expect(status.images.done == 4 && status.images.failed == 22, "\(status.images)")
        let overLimit = "over the limit of \(Manifest.maxLineBytes) bytes"
        let problems = Dictionary(status.problems.map { ($0.reason, $0.count) }) { $0 + $1 }
        #expect(problems["manifest line {line}: the line is 50000026 bytes long, \(overLimit)"] == 1, "\(problems)")
        #expect(problems["manifest line {line}: gs:// URIs are not supported (http://, https://, s3://, file:// or a path)"] == 20, "\(problems)")
        for problem in status.problems { #expect(problem.reason.utf8.count <= 1000, "a problem quotes \(problem.reason.utf8.count) bytes") }
        for error in status.recentErrors {
            #expect(error.uri.utf8.count <= Manifest.maxLineBytes && error.error.utf8.count <= 1000, "\(error.uri.utf8.count), \(error.error.utf8.count) bytes")
        }
        _ = try await cluster.admin.retryFailed(cluster.job)

        let results = try await cluster.admin.results(cluster.job)
        let failed = results.filter { $0.status == .failed }
        #expect(failed.count == 22)
        for result in failed {
            #expect((result.error ?? "").utf8.count <= 1000 && result.uri.utf8.count <= Manifest.maxLineBytes, "\(result.id): \(result.error ?? "")")
        }
        #expect(failed.contains { $0.error == "manifest line 5: the line is 50000026 bytes long, \(overLimit)" })
        #expect(failed.contains { ($0.error ?? "").hasPrefix("manifest line 26: id \"ccccc") && ($0.error ?? "").hasSuffix("…\" is 10000 bytes long (at most 200)") })
        #expect(failed.filter { ($0.error ?? "").contains("gs:// URIs are not supported") }.count == 20)
    }

    /// Twenty-four uploads of 63 MiB with a lease that does not exist are refused from their headers, and twelve
    /// with a real lease are read within the upload budget: the coordinator's peak memory grows by far less than
    /// the 2.2 GB they carry (before the fix it grew by 1.6 GB, and under an address-space limit it crashed).
    @Test(.timeLimit(.minutes(4)))
    func anUploadFloodCostsBoundedMemory() async throws {
        let cluster = try FaultCluster("upload-flood", imageCount: 2)
        defer { cluster.shutdown() }
        try await cluster.startCoordinator()
        try await cluster.submit(leaseSeconds: 300)
        let pid = try #require(cluster.coordinator?.pid)
        let task = try #require(try await cluster.admin.claim(ClaimRequest(worker: "attacker", waitSeconds: 5)))
        let body = cluster.directory.appendingPathComponent("body.bin")
        try Data(count: 63 << 20).write(to: body)
        let before = CoordinatorBenchmark.residentMemory(pid: pid).1

        let http = HTTPClient(configuration: .init(session: .init(bearerToken: FaultCluster.token), threads: 36))
        let image = task.images[0].id
        func put(task: Int64, lease: String) -> ClientRequest {
            ClientRequest(method: .put, url: cluster.url + Routes.uploadLabel.path(String(task), image),
                        headers: [Routes.leaseTokenHeader: lease, Routes.imageWidthHeader: "64", Routes.imageHeightHeader: "48", "Content-Type": "image/png"],
                        body: .file(path: body.path))
        }
        let statuses = try await withThrowingTaskGroup(of: (bogus: Bool, status: Int).self) { group in
            for i in 0..<36 {
                let bogus = i % 3 != 0
                let request = bogus ? put(task: 999_999, lease: "not-a-lease") : put(task: task.taskId, lease: task.leaseToken)
                group.addTask { (bogus, try await http.send(request).status) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let peak = CoordinatorBenchmark.residentMemory(pid: pid).1
        print("upload flood: the coordinator's peak memory \(before) -> \(peak) MiB")
        #expect(statuses.filter(\.bogus).allSatisfy { $0.status == 404 }, "\(statuses)")
        #expect(statuses.filter { !$0.bogus }.allSatisfy { $0.status == 422 }, "garbage under a real lease is refused as a PNG: \(statuses)")
        #expect(peak - before < 500, "the coordinator's peak memory grew from \(before) MiB to \(peak) MiB")
        // The coordinator still serves, and the real lease still takes a real label.
        #expect(try await cluster.admin.job(cluster.job).images.total == 2)
    }

    /// An S3 endpoint given with a password in its URL, unreachable: the images fail with the endpoint named
    /// without its user information, and the password is nowhere the coordinator keeps or shows anything.
    @Test(.timeLimit(.minutes(3)))
    func aPasswordInTheEndpointNeverReachesTheCoordinator() async throws {
        let cluster = try FaultCluster("endpoint-password", imageCount: 2)
        defer { cluster.shutdown() }
        let refusing = try RefusingPort()
        try await cluster.startCoordinator()
        let uris = Dictionary(uniqueKeysWithValues: cluster.images.map { ($0.id, "s3://photos/set/\($0.file)") })
        try await cluster.submit(uris: uris, maxAttempts: 1)
        try cluster.startWorker("w1", environment: [
            "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE1234567", "AWS_SECRET_ACCESS_KEY": "the-secret", "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": "http://minio:SuperSecretPw@127.0.0.1:\(refusing.number)"])
        try await cluster.waitForJobEnd(timeout: .seconds(120))

        let results = try await cluster.admin.results(cluster.job)
        #expect(results.count == 2 && results.allSatisfy { $0.status == .failed })
        for result in results {
            #expect((result.error ?? "").contains("is unreachable at http://127.0.0.1:\(refusing.number)/photos/set/"), "\(result.error ?? "")")
        }
        let status = try await cluster.admin.job(cluster.job)
        let shown = String(decoding: try JSONEncoder().encode(status), as: UTF8.self) + "\(results)"
        for secret in ["SuperSecretPw", "minio:", "AKIDEXAMPLE1234567", "the-secret"] {
            #expect(!shown.contains(secret), "\(secret) is in what the coordinator shows")
            for file in try FileManager.default.subpathsOfDirectory(atPath: cluster.dataDirectory.path) {
                let data = FileManager.default.contents(atPath: cluster.dataDirectory.appendingPathComponent(file).path) ?? Data()
                #expect(data.range(of: Data(secret.utf8)) == nil, "\(secret) is in \(file)")
            }
            #expect(!(cluster.coordinator?.logText.contains(secret) ?? true))
        }
    }
}
