import Hummingbird
import Logging

// A real Hummingbird server on 127.0.0.1, port 0, for the client tests. The tests only see `TestServer`,
// `ServerState` and `FakeHub`.

/// A fake Hugging Face repository: `/<repo>/resolve/main/<file>`; LFS files redirect to `/lfs/<sha>`.
struct FakeHub: Sendable {
    var repo = "openai/clip-vit-base-patch16"
    var files: [String: [UInt8]]
    var lfs: Set<String> = ["model.safetensors"]
    /// Advertise this digest for LFS files instead of the true one (to provoke a mismatch).
    var advertisedSHA256: String?

    static func sha256(_ bytes: [UInt8]) -> String { sha256Hex(bytes) }
}

struct TestServer: Sendable {
    let baseURL: String
    let state: ServerState

    /// Starts a server with `files` under `/files/<name>` (and the other test routes), runs
    /// `body`, then shuts the server down.
    static func run(
        files: [String: [UInt8]] = [:], hub: FakeHub? = nil, _ body: @Sendable (TestServer) async throws -> Void
    ) async throws {
        let state = ServerState()
        let router = Router(context: TestRequestContext.self, options: .autoGenerateHeadEndpoints)
        TestRoutes(files: files, hub: hub, state: state).add(to: router)
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "test-server")
        logger.logLevel = .critical
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) },
            logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService(gracefulShutdownSignals: []) }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { return }
            try await body(TestServer(baseURL: "http://127.0.0.1:\(port)", state: state))
            group.cancelAll()
        }
    }

    func url(_ path: String) -> String { baseURL + path }
}

/// Everything the server saw, for assertions.
actor ServerState {
    struct Record: Sendable {
        var method: String
        var path: String
        /// Lower-cased names.
        var headers: [String: String]
        /// The client's port: equal ports mean one reused connection.
        var remotePort: Int?
    }

    private(set) var records: [Record] = []
    private var counters: [String: Int] = [:]

    func record(_ record: Record) { records.append(record) }

    /// Returns how often `key` was seen before, then counts this time.
    func next(_ key: String) -> Int {
        defer { counters[key, default: 0] += 1 }
        return counters[key, default: 0]
    }

    func records(pathPrefix: String) -> [Record] {
        records.filter { $0.path.hasPrefix(pathPrefix) }
    }
}

/// Basic context plus the client's port, to tell connections apart.
struct TestRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let remotePort: Int?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remotePort = source.channel.remoteAddress?.port
    }
}
