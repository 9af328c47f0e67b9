import Foundation
import Testing
import LabelClient

/// Downloads into a directory that several processes share (the worker's model cache on a host with several
/// workers): one fetch per file, files checked on disk, corrupt entries replaced instead of used.
@Suite("Shared downloads: one fetch per file, cached files checked before use")
struct SharedDownloadTests {
    static let data = testBytes(400_000, seed: 7)
    static let sha = sha256Hex(data)

    @Test("four clients fetching one file at the same moment download it once")
    func concurrentFetchesDownloadOnce() async throws {
        try await withTemporaryDirectory { directory in
            try await TestServer.run(files: ["blob": Self.data]) { server in
                let path = directory + "/blob"
                let request = DownloadRequest(url: server.url("/trickle/blob"), destination: path,
                                              expectedSize: Int64(Self.data.count), expectedSHA256: Self.sha, stamp: true)
                // Separate clients: separate threads and separate opens of the lock file, as separate processes have.
                let results = try await withThrowingTaskGroup(of: DownloadResult.self) { group in
                    for _ in 0..<4 { group.addTask { try await HTTPClient().download(request, retry: .none) } }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(await server.state.records(pathPrefix: "/trickle").count == 1)
                #expect(results.filter { !$0.reused }.count == 1)
                #expect(results.allSatisfy { $0.sha256 == Self.sha && $0.size == Int64(Self.data.count) })
                #expect(readFile(path) == Self.data)
                let left = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
                #expect(left == [".blob.verified", "blob"])  // no .part, no .lock, no temporary file
            }
        }
    }

    @Test("a cached file changed in place, truncated or grown is deleted and fetched again", arguments: ["flip", "truncate", "append"])
    func corruptEntryIsReplaced(_ damage: String) async throws {
        try await withTemporaryDirectory { directory in
            try await TestServer.run(files: ["blob": Self.data]) { server in
                let path = directory + "/blob"
                let request = DownloadRequest(url: server.url("/files/blob"), destination: path,
                                              expectedSize: Int64(Self.data.count), expectedSHA256: Self.sha, stamp: true)
                let client = HTTPClient()
                _ = try await client.download(request, retry: .none)
                let again = try await client.download(request, retry: .none)
                #expect(again.reused && again.discarded == nil)
                #expect(await server.state.records(pathPrefix: "/files").count == 1)

                var bytes = Self.data
                switch damage {
                case "flip": bytes[200_000] ^= 0xFF
                case "truncate": bytes.removeLast(1000)
                default: bytes += [1, 2, 3]
                }
                let handle = try #require(FileHandle(forWritingAtPath: path))  // in place: same inode
                try handle.truncate(atOffset: 0)
                try handle.write(contentsOf: Data(bytes))
                try handle.close()

                let repaired = try await client.download(request, retry: .none)
                #expect(!repaired.reused)
                #expect(repaired.discarded?.contains(damage == "flip" ? "SHA-256" : "bytes") == true, "\(repaired.discarded ?? "nil")")
                #expect(readFile(path) == Self.data)
                #expect(await server.state.records(pathPrefix: "/files").count == 2)
            }
        }
    }

    @Test("a file without a stamp is hashed in full before it is trusted")
    func unstampedFileIsHashed() async throws {
        try await withTemporaryDirectory { directory in
            try await TestServer.run(files: ["blob": Self.data]) { server in
                let path = directory + "/blob"
                var wrong = Self.data
                wrong[0] ^= 1
                try writeFile(path, wrong)  // right size, wrong content, no stamp
                let request = DownloadRequest(url: server.url("/files/blob"), destination: path,
                                              expectedSize: Int64(Self.data.count), expectedSHA256: Self.sha, stamp: true)
                let result = try await HTTPClient().download(request, retry: .none)
                #expect(result.discarded != nil && !result.reused)
                #expect(readFile(path) == Self.data)
                #expect(fileExists(directory + "/.blob.verified"))
            }
        }
    }
}
