import Foundation
import Testing
import LabelClient

@Suite("Downloads: resume, verification, atomic rename")
struct DownloadTests {
    static let data = testBytes(300_000, seed: 42)
    static let sha = FakeHub.sha256(data)

    @Test("a partial .part file is continued with a Range request")
    func resumeFromPart() async throws {
        try await withTemporaryDirectory { directory in
            try await TestServer.run(files: ["blob": Self.data]) { server in
                let path = directory + "/blob"
                try writeFile(path + ".part", Array(Self.data.prefix(100_000)))
                let result = try await HTTPClient().download(
                    from: server.url("/files/blob"), to: path,
                    expectedSize: Int64(Self.data.count), expectedSHA256: Self.sha, resume: true)
                #expect(result.resumedFrom == 100_000)
                #expect(result.sha256 == Self.sha)
                #expect(readFile(path) == Self.data)
                #expect(!fileExists(path + ".part"))
                let requests = await server.state.records(pathPrefix: "/files/blob")
                #expect(requests.map { $0.headers["range"] } == ["bytes=100000-"])
            }
        }
    }

    @Test("a connection dropped midway leaves a .part that the retry resumes")
    func dropThenResume() async throws {
        try await withTemporaryDirectory { directory in
            try await TestServer.run(files: ["blob": Self.data]) { server in
                let path = directory + "/blob"
                let url = server.url("/once-drop/blob/120000")
                let client = HTTPClient()
                let error = await #expect(throws: CurlError.self) {
                    try await client.download(from: url, to: path, expectedSHA256: Self.sha)
                }
                #expect(error?.code == .sendOrReceiveFailed)
                #expect(error?.isRetryable == true)
                let kept = try #require(readFile(path + ".part"))
                #expect(kept.count > 0 && kept.count <= 120_000)
                #expect(!fileExists(path))

                let progress = ProgressLog()
                let result = try await client.download(
                    from: url, to: path, expectedSHA256: Self.sha, retry: .immediate(maxAttempts: 2)
                ) { bytes, total in progress.add(bytes, total) }
                #expect(result.resumedFrom == Int64(kept.count))
                #expect(readFile(path) == Self.data)
                let ranges = await server.state.records(pathPrefix: "/once-drop").map { $0.headers["range"] }
                #expect(ranges == [nil, "bytes=\(kept.count)-"])
                let reports = progress.reports
                #expect(reports.first?.0 == Int64(kept.count))
                #expect(reports.last?.0 == Int64(Self.data.count))
                #expect(reports.allSatisfy { $0.1 == Int64(Self.data.count) })
            }
        }
    }

    @Test("a 200 answer to a Range request restarts the file from zero")
    func rangeIgnored() async throws {
        try await withTemporaryDirectory { directory in
            try await TestServer.run(files: ["blob": Self.data]) { server in
                let path = directory + "/blob"
                try writeFile(path + ".part", [UInt8](repeating: 0xAB, count: 50_000))  // not even a prefix
                let result = try await HTTPClient().download(
                    from: server.url("/norange/blob"), to: path, expectedSHA256: Self.sha)
                #expect(result.resumedFrom == 0)
                #expect(readFile(path) == Self.data)
                #expect(await server.state.records(pathPrefix: "/norange").first?.headers["range"] == "bytes=50000-")
            }
        }
    }

    @Test("a .part that already holds the whole file is verified without a transfer")
    func alreadyComplete() async throws {
        try await withTemporaryDirectory { directory in
            try await TestServer.run(files: ["blob": Self.data]) { server in
                let path = directory + "/blob"
                try writeFile(path + ".part", Self.data)
                let result = try await HTTPClient().download(
                    from: server.url("/files/blob"), to: path, expectedSize: Int64(Self.data.count), expectedSHA256: Self.sha)
                #expect(result.resumedFrom == Int64(Self.data.count))
                #expect(await server.state.records(pathPrefix: "/files").isEmpty)
                // Without an expected size the server's 416 says the same.
                try writeFile(path + ".part", Self.data)
                let again = try await HTTPClient().download(from: server.url("/files/blob"), to: path, expectedSHA256: Self.sha)
                #expect(again.size == Int64(Self.data.count))
                #expect(readFile(path) == Self.data)
            }
        }
    }

    @Test("a SHA-256 mismatch is a non-retryable error and leaves neither file nor .part")
    func checksumMismatch() async throws {
        try await withTemporaryDirectory { directory in
            try await TestServer.run(files: ["blob": Self.data]) { server in
                let path = directory + "/blob"
                let wrong = String(repeating: "0", count: 64)
                let error = await #expect(throws: CurlError.self) {
                    try await HTTPClient().download(
                        from: server.url("/files/blob"), to: path, expectedSHA256: wrong, retry: .immediate(maxAttempts: 3))
                }
                #expect(error?.code == .checksumMismatch)
                #expect(error?.isRetryable == false)
                #expect(!fileExists(path) && !fileExists(path + ".part"))
                #expect(await server.state.records(pathPrefix: "/files").count == 1)
            }
        }
    }

    @Test("a size mismatch is an error; an HTTP error status keeps the body in the message")
    func sizeMismatchAndStatus() async throws {
        try await withTemporaryDirectory { directory in
            try await TestServer.run(files: ["blob": Self.data]) { server in
                let path = directory + "/blob"
                let client = HTTPClient()
                let size = await #expect(throws: CurlError.self) {
                    try await client.download(from: server.url("/files/blob"), to: path, expectedSize: 123)
                }
                #expect(size?.code == .sizeMismatch)
                #expect(!fileExists(path))
                let missing = await #expect(throws: CurlError.self) {
                    try await client.download(from: server.url("/status/404"), to: path)
                }
                #expect(missing?.code == .httpStatus(404))
                #expect(missing?.message.contains("status 404 body") == true)
            }
        }
    }
}

/// Collects progress reports from the transfer thread.
final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [(Int64, Int64?)] = []

    func add(_ bytes: Int64, _ total: Int64?) { lock.withLock { storage.append((bytes, total)) } }
    var reports: [(Int64, Int64?)] { lock.withLock { storage } }
}
