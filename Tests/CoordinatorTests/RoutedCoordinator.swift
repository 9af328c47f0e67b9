import Coordinator
import Foundation
import Hummingbird
import HummingbirdTesting
import LabelAPI
import Logging
import TestSupport

/// The coordinator's application driven in process through HummingbirdTesting's router framework: requests go
/// straight to its routes and middleware, with no socket, port or HTTP client (its services run beside the test).
enum RoutedCoordinator {
    static func test<Value: Sendable>(_ body: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("routed-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        var logger = Logger(label: "test.routed")
        logger.logLevel = .warning
        let configuration = CoordinatorConfiguration(
            dataDirectory: data, port: 0, tokens: TokenSet(admin: LiveCoordinator.adminToken, worker: LiveCoordinator.workerToken))
        return try await buildCoordinator(configuration, logger: logger).test(.router) { client in try await body(client) }
    }

    /// "Bearer TOKEN" as a request's headers (none for nil).
    static func authorization(_ token: String?) -> HTTPFields {
        token.map { [.authorization: "Bearer \($0)"] } ?? [:]
    }
}
