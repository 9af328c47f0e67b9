import ArgumentParser
import Coordinator
import Foundation
import Hummingbird
import LabelAPI
import NIOCore

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the coordinator: jobs, leases, the ledger and label storage over HTTP.",
        discussion: """
            It is also Label Studio's ML backend: in a project's Model settings, connect
            http://HOST:PORT/label-studio with Basic authentication, any user name and
            the admin token as the password. Set LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY
            for the images Label Studio serves itself (docs/LABEL-STUDIO.md).

            Example:
              openssl rand -hex 32 > token && chmod 600 token
              labelmill serve --data /var/lib/labelmill --host 0.0.0.0 --port 8080 \\
                --token-file token --image-root /data/images
            """)

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

    @Option(help: "Label Studio's predictions: the model (default: the only one registered).")
    var labelStudioModel: String?

    @Option(help: "Label Studio's predictions: a JSON file of job settings (default: the job defaults, as `labelmill label`).")
    var labelStudioSettings: String?

    @Option(help: "Label Studio's predictions: seconds a prediction waits for its images before answering what is labeled (keep it under Label Studio's ML_TIMEOUT_PREDICT, 100 s by default).")
    var labelStudioWait: Double = 80

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        // Everything the coordinator creates (database, label maps, blobs, uploads) is its owner's alone.
        umask(0o077)
        let logger = logging.bootstrap()
        let tokens = TokenSet(admin: try readToken(tokenFile), worker: try workerTokenFile.map(readToken))
        for (file, token) in [(tokenFile, tokens.admin)] + (workerTokenFile.map { [($0, tokens.worker ?? "")] } ?? []) {
            for warning in TokenFile.warnings(file: file, token: token) {
                logger.warning("token.weak", metadata: ["file": "\(file)", "warning": "\(warning)"])
            }
        }
        var configuration = CoordinatorConfiguration(
            dataDirectory: URL(fileURLWithPath: data), host: host, port: port, tokens: tokens,
            imageRoot: imageRoot.map { URL(fileURLWithPath: $0) })
        guard labelStudioWait.isFinite, (0...3600).contains(labelStudioWait) else { throw CLIError("--label-studio-wait is 0 to 3600 seconds") }
        configuration.labelStudio = LabelStudioConfiguration(model: labelStudioModel, settings: try readSettings(),
                                                             wait: .milliseconds(Int(labelStudioWait * 1000)))
        let app = try buildCoordinator(configuration, logger: logger) { port in
            logger.info("coordinator.listening", metadata: ["http.host": "\(host)", "http.port": "\(port)"])
        }
        do {
            try await app.runService()
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            throw CLIError("port \(port) on \(host) is in use: stop what listens there, or pick another with --port")
        } catch let error as IOError where error.errnoCode == EADDRNOTAVAIL {
            throw CLIError("\(host) is not an address of this machine: use one of its addresses, 127.0.0.1 or 0.0.0.0")
        }
    }

    /// `--label-studio-settings`, checked now: a wrong setting is said at start, not on Label Studio's first call.
    private func readSettings() throws -> JobSettings {
        guard let file = labelStudioSettings else { return JobSettings() }
        guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("cannot read --label-studio-settings \(file): no such file, or not readable") }
        let settings: JobSettings
        do { settings = try JSONDecoder().decode(JobSettings.self, from: data) } catch {
            throw CLIError("--label-studio-settings \(file) is not job settings JSON: \(error)")
        }
        do { try settings.validate() } catch { throw CLIError("--label-studio-settings \(file): \(error)") }
        return settings
    }

    private func readToken(_ file: String) throws -> String {
        guard let token = TokenFile.read(file) else {
            throw CLIError("cannot read a token from \(file): \(FileManager.default.fileExists(atPath: file) ? "it is empty or unreadable" : "no such file")")
        }
        return token
    }
}
