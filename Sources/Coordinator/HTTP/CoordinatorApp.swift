import Foundation
import Hummingbird
import LabelAPI
import Logging

/// Builds the coordinator: the store on `DATA/labelmill.sqlite`, the routes, the lease sweeper.
/// `labelmill serve` runs it; the tests run the same application on port 0.
public func buildCoordinator(
    _ configuration: CoordinatorConfiguration, logger: Logger,
    onListening: @escaping @Sendable (Int) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    AllocatorTuning.forServer()
    try FileManager.default.createDirectory(at: configuration.dataDirectory, withIntermediateDirectories: true,
                                            attributes: [.posixPermissions: 0o700])
    let store = try Store(path: configuration.databasePath)
    let services = CoordinatorServices(configuration: configuration, store: store, logger: logger)
    try services.embeddings.resumePending()

    let router = Router(context: CoordinatorContext.self)
    router.add(middleware: ErrorMappingMiddleware())
    router.add(middleware: AuthMiddleware(tokens: configuration.tokens, open: ["/", Routes.health, Routes.ready]))
    for path in ["/", Routes.health, Routes.ready] {
        router.get(RouterPath(stringLiteral: path)) { _, _ in try json(["status": "ok"]) }
    }
    JobRoutes(services: services).register(on: router)
    TaskRoutes(services: services).register(on: router)
    ModelRoutes(services: services).register(on: router)
    FileRoutes(services: services).register(on: router)

    return Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "labelmill"),
        services: [LeaseSweeper(store: store, interval: configuration.sweepInterval, logger: logger)],
        onServerRunning: { channel in await onListening(channel.localAddress?.port ?? configuration.port) },
        logger: logger)
}
