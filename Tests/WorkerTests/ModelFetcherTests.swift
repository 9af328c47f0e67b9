import Foundation
import Testing
import LabelClient

@Suite("ModelFetcher against a fake hub")
struct ModelFetcherTests {
    static let hub = FakeHub(files: [
        "config.json": Array(#"{"projection_dim": 512}"#.utf8),
        "model.safetensors": testBytes(400_000, seed: 3),
        "vocab.json": Array(#"{"a": 0, "b": 1}"#.utf8),
        "merges.txt": Array("#version: 0.2\na b\n".utf8),
    ])

    func configuration(_ server: TestServer, _ directory: String, hub: FakeHub = hub) -> ModelFetchConfiguration {
        ModelFetchConfiguration(
            outputDirectory: directory + "/clip", repo: hub.repo, baseURL: server.baseURL + "/",
            token: "hf_test", retry: .immediate(maxAttempts: 3))
    }

    @Test("files land verified; a second fetch skips them all")
    func fetchThenSkip() async throws {
        try await withTemporaryDirectory { directory in
            try await TestServer.run(hub: Self.hub) { server in
                let config = configuration(server, directory)
                let first = try await ModelFetcher.fetch(config)
                #expect(first.map(\.name) == ModelFetchConfiguration.defaultFiles)
                for file in first {
                    let expected = try #require(Self.hub.files[file.name])
                    #expect(readFile(file.path) == expected)
                    #expect(file.size == Int64(expected.count))
                    #expect(file.sha256 == FakeHub.sha256(expected))
                    #expect(!file.skipped)
                    #expect(file.verifiedSHA256 == (file.name == "model.safetensors"))
                }
                let lfs = await server.state.records(pathPrefix: "/lfs/").map(\.method)
                #expect(lfs == ["HEAD", "GET"])  // the HEAD that follows the redirect, then the download

                let progress = FetchProgressLog()
                let second = try await ModelFetcher.fetch(config) { progress.add($0) }
                #expect(second.allSatisfy { $0.skipped })
                #expect(progress.events.allSatisfy { $0.skipped && $0.bytes == $0.total })
                let gets = await server.state.records.filter { $0.method == "GET" && !$0.path.hasPrefix("/lfs/") }
                #expect(gets.count == 4)  // first run only: three plain files and the model's redirect hop
                #expect(await server.state.records(pathPrefix: "/lfs/").filter { $0.method == "GET" }.count == 1)
                let authorizations = await server.state.records(pathPrefix: "/openai/").map { $0.headers["authorization"] }
                #expect(authorizations.allSatisfy { $0 == "Bearer hf_test" })
            }
        }
    }

    @Test("an interrupted model.safetensors.part is resumed, then verified")
    func resumesPart() async throws {
        try await withTemporaryDirectory { directory in
            try await TestServer.run(hub: Self.hub) { server in
                let config = configuration(server, directory)
                let model = try #require(Self.hub.files["model.safetensors"])
                try FileManager.default.createDirectory(atPath: config.outputDirectory, withIntermediateDirectories: true)
                try writeFile(config.outputDirectory + "/model.safetensors.part", Array(model.prefix(150_000)))
                let progress = FetchProgressLog()
                let fetched = try await ModelFetcher.fetch(config) { progress.add($0) }
                let file = try #require(fetched.first { $0.name == "model.safetensors" })
                #expect(file.verifiedSHA256 && !file.skipped)
                #expect(readFile(file.path) == model)
                let ranges = await server.state.records(pathPrefix: "/lfs/").compactMap { $0.headers["range"] }
                #expect(ranges == ["bytes=150000-"])
                let modelEvents = progress.events.filter { $0.file == "model.safetensors" }
                #expect(modelEvents.first?.bytes == 150_000)
                #expect(modelEvents.last?.bytes == Int64(model.count))
                #expect(modelEvents.allSatisfy { $0.total == Int64(model.count) })
            }
        }
    }

    @Test("a digest that does not match the hub's is an error and no file is left")
    func mismatch() async throws {
        var tampered = Self.hub
        tampered.advertisedSHA256 = String(repeating: "ab", count: 32)
        let hub = tampered
        try await withTemporaryDirectory { directory in
            try await TestServer.run(hub: hub) { server in
                let config = configuration(server, directory, hub: hub)
                let error = await #expect(throws: CurlError.self) { try await ModelFetcher.fetch(config) }
                #expect(error?.code == .checksumMismatch)
                #expect(!fileExists(config.outputDirectory + "/model.safetensors"))
                #expect(!fileExists(config.outputDirectory + "/model.safetensors.part"))
            }
        }
    }

    @Test("a file missing from the repository is a non-retryable 404")
    func missingFile() async throws {
        try await withTemporaryDirectory { directory in
            try await TestServer.run(hub: Self.hub) { server in
                var config = configuration(server, directory)
                config.files = ["pytorch_model.bin"]
                let error = await #expect(throws: CurlError.self) { try await ModelFetcher.fetch(config) }
                #expect(error?.code == .httpStatus(404))
                #expect(error?.isRetryable == false)
            }
        }
    }

    @Test("base URL and token: flag, then environment, then default")
    func environment() {
        let env = ["LABELMILL_HF_BASE_URL": "http://mirror:8080", "HF_TOKEN": "hf_env"]
        #expect(ModelFetchConfiguration.baseURL(flag: "http://flag", environment: env) == "http://flag")
        #expect(ModelFetchConfiguration.baseURL(flag: nil, environment: env) == "http://mirror:8080")
        #expect(ModelFetchConfiguration.baseURL(flag: nil, environment: [:]) == "https://huggingface.co")
        #expect(ModelFetchConfiguration.token(flag: nil, environment: env) == "hf_env")
        #expect(ModelFetchConfiguration.token(flag: nil, environment: [:]) == nil)
        let config = ModelFetchConfiguration(outputDirectory: "/tmp/x", baseURL: "https://huggingface.co/")
        #expect(config.url(for: "model.safetensors")
            == "https://huggingface.co/openai/clip-vit-base-patch16/resolve/main/model.safetensors")
    }
}

final class FetchProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [FetchProgress] = []

    func add(_ event: FetchProgress) { lock.withLock { storage.append(event) } }
    var events: [FetchProgress] { lock.withLock { storage } }
}
