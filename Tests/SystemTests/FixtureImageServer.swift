import Foundation
import Hummingbird
import Testing

/// Serves the fault suite's images over plain HTTP, as a third-party image store would (`GET /images/<id>`),
/// with two knobs that let a test stop a worker at a chosen image: a closed gate holds every request for an
/// image until it opens, and a decoy answers an image's first request with another picture's bytes.
final class FixtureImageServer: Sendable {
    let url: String
    private let state: State
    private let server: Task<Void, any Error>

    private init(url: String, state: State, server: Task<Void, any Error>) {
        self.url = url
        self.state = state
        self.server = server
    }

    /// Starts on a free port, serving `images` (id → file).
    static func start(_ images: [String: URL]) async throws -> FixtureImageServer {
        let state = State(images: try images.mapValues { try Data(contentsOf: $0) })
        let router = Router()
        router.get("/images/:id") { _, context -> Response in
            let id = try context.parameters.require("id")
            let decoy = state.arrived(id)
            while state.isClosed(id) { try await Task.sleep(for: .milliseconds(20)) }
            guard let bytes = decoy ?? state.image(id) else { return Response(status: .notFound) }
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        let server = try await LoopbackServer.start(router)
        return FixtureImageServer(url: server.url, state: state, server: server.task)
    }

    func uri(_ id: String) -> String { "\(url)/images/\(id)" }

    func close(_ id: String) { state.setClosed(id, true) }
    func open(_ id: String) { state.setClosed(id, false) }

    /// The first request for `id` gets `file`'s bytes instead of the image's.
    func decoyFirstRequest(for id: String, with file: URL) throws {
        state.setDecoy(id, try Data(contentsOf: file))
    }

    /// Requests for `id` so far (held ones included).
    func requests(for id: String) -> Int { state.requestCount(id) }

    /// Opens every gate (so no handler waits) and stops the server.
    func stop() {
        state.openAll()
        server.cancel()
    }

    private final class State: @unchecked Sendable {
        private let lock = NSLock()
        private let images: [String: Data]
        private var closed: Set<String> = []
        private var decoys: [String: Data] = [:]
        private var requests: [String: Int] = [:]

        init(images: [String: Data]) { self.images = images }

        func image(_ id: String) -> Data? { images[id] }
        func isClosed(_ id: String) -> Bool { lock.withLock { closed.contains(id) } }
        func requestCount(_ id: String) -> Int { lock.withLock { requests[id, default: 0] } }
        func setDecoy(_ id: String, _ bytes: Data) { lock.withLock { decoys[id] = bytes } }
        func openAll() { lock.withLock { closed.removeAll() } }

        func setClosed(_ id: String, _ isClosed: Bool) {
            lock.withLock {
                if isClosed { closed.insert(id) } else { closed.remove(id) }
            }
        }

        /// Counts a request for `id`; the decoy to answer it with, if it is the first one and there is one.
        func arrived(_ id: String) -> Data? {
            lock.withLock {
                requests[id, default: 0] += 1
                return requests[id] == 1 ? decoys.removeValue(forKey: id) : nil
            }
        }
    }
}
