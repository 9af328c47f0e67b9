import Hummingbird
import Logging
import Testing

/// A test's own HTTP server (images, misbehaving hosts) on a free loopback port.
struct LoopbackServer {
    let url: String
    let task: Task<Void, any Error>

    static func start(_ router: Router<BasicRequestContext>) async throws -> LoopbackServer {
        let listening = AsyncStream.makeStream(of: Int.self)
        // Quiet: stopping it cancels the server, which Hummingbird reports at error level ("Waiting on child channel").
        var logger = Logger(label: "test.loopback")
        logger.logLevel = .critical
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { listening.continuation.yield($0.localAddress?.port ?? 0) }, logger: logger)
        let task = Task { try await app.run() }
        var ports = listening.stream.makeAsyncIterator()
        return LoopbackServer(url: "http://127.0.0.1:\(try #require(await ports.next()))", task: task)
    }

    func stop() { task.cancel() }
}
