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
    let janitor = DataJanitor(dataDirectory: configuration.dataDirectory, logger: logger)
    let leftovers = janitor.removeTemporaries()
    if leftovers > 0 { logger.info("temporaries.removed", metadata: ["files.count": "\(leftovers)"]) }
    let services = CoordinatorServices(configuration: configuration, store: store, logger: logger)
    try services.embeddings.resumePending()
    try services.preparer.resumePending()

    let router = Router(context: CoordinatorContext.self)
    router.add(middleware: RequestMetricsMiddleware(metrics: services.metrics))
    router.add(middleware: ErrorMappingMiddleware())
    let sessions = DashboardSessions(store: store)
    router.add(middleware: AuthMiddleware(tokens: configuration.tokens, sessions: sessions))
    // Liveness: the process answers. Readiness: it can also read its database.
    router.on(Routes.health) { _, _ in try json(["status": "ok"]) }
    router.on(Routes.ready) { _, _ in
        do {
            try await store.read("reading the database") { db in try store.ping(db) }
        } catch {
            throw CoordinatorError(.unavailable, "the database cannot be read: \(error)")
        }
        return try json(["status": "ok"])
    }
    router.on(Routes.metrics) { _, _ in
        let counts = try await store.read("counting the fleet's work") { db in try store.fleetCounts(db) }
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: services.metrics.scrape(counts))))
    }
    router.on(Routes.openAPI) { _, _ in
        Response(status: .ok, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(bytes: PackageResources.openapi_json)))
    }
    JobRoutes(services: services).register(on: router)
    TaskRoutes(services: services).register(on: router)
    ModelRoutes(services: services).register(on: router)
    FileRoutes(services: services).register(on: router)
    DashboardRoutes(services: services, sessions: sessions).register(on: router)
    LabelStudioRoutes(services: services, logger: logger).register(on: router)

    return Application(
        router: router,
        // A connection silent for 75 s is closed (longer than the longest long poll, 60 s): clients that went away
        // or stall mid-request do not hold sockets for ever.
        server: .http1(configuration: .init(idleTimeout: .seconds(75))),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "labelmill"),
        services: [LeaseSweeper(store: store, interval: configuration.sweepInterval, logger: logger,
                                onReturned: { services.workSignal.notify(count: $0) }),
                   janitor, services.embeddings],
        onServerRunning: { channel in await onListening(channel.localAddress?.port ?? configuration.port) },
        logger: logger)
}
