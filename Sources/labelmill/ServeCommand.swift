import ArgumentParser
import Coordinator
import Foundation
import Hummingbird

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the coordinator: jobs, leases, the ledger and label storage over HTTP.")

    @Option(help: "Data directory (SQLite database, blobs, label maps). Created if missing.")
    var data: String

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0 picks a free one).")
    var port = 8080

    @Option(help: "File holding the bearer token every client must send (the admin token).")
    var tokenFile: String

    @Option(help: "Optional file holding a second, restricted token for workers (claim, heartbeat, upload only).")
    var workerTokenFile: String?

    @Option(help: "Serve manifest paths under this directory to workers (relative paths are taken from here).")
    var imageRoot: String?

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        // Everything the coordinator creates (database, label maps, blobs, uploads) is its owner's alone.
        umask(0o077)
        let logger = logging.bootstrap()
        let tokens = TokenSet(admin: try TokenSet.read(file: tokenFile), worker: try workerTokenFile.map(TokenSet.read(file:)))
        let configuration = CoordinatorConfiguration(
            dataDirectory: URL(fileURLWithPath: data), host: host, port: port, tokens: tokens,
            imageRoot: imageRoot.map { URL(fileURLWithPath: $0) })
        let app = try buildCoordinator(configuration, logger: logger) { port in
            logger.info("coordinator.listening", metadata: ["http.host": "\(host)", "http.port": "\(port)"])
        }
        try await app.runService()
    }
}
