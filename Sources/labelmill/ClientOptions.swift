import ArgumentParser
import Foundation
import LabelAPI
import LabelClient

/// How user commands reach a coordinator.
struct ClientOptions: ParsableArguments {
    @Option(help: "Coordinator URL, e.g. http://127.0.0.1:8080 (default: the LABELMILL_COORDINATOR environment variable).")
    var coordinator: String?

    @Option(help: "Bearer token file (default: the LABELMILL_TOKEN environment variable).")
    var tokenFile: String?

    /// `--coordinator`, else `LABELMILL_COORDINATOR`.
    func url() throws -> String {
        if let coordinator { return coordinator }
        if let url = ProcessInfo.processInfo.environment["LABELMILL_COORDINATOR"], !url.isEmpty { return url }
        throw ValidationError("give --coordinator URL or set LABELMILL_COORDINATOR")
    }

    func client() throws -> CoordinatorClient {
        LoggingOptions.install(level: .error)
        return CoordinatorClient(baseURL: try url(), token: try CoordinatorClient.token(file: tokenFile))
    }
}

func printJSON(_ value: some Encodable) throws {
    let encoder = WireJSON.encoder()
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
