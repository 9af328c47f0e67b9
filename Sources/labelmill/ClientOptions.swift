import ArgumentParser
import Foundation
import Worker

/// How user commands reach a coordinator.
struct ClientOptions: ParsableArguments {
    @Option(help: "Coordinator URL, e.g. http://127.0.0.1:8080.")
    var coordinator: String

    @Option(help: "Bearer token file (default: the LABELMILL_TOKEN environment variable).")
    var tokenFile: String?

    func client() throws -> CoordinatorClient {
        CoordinatorClient(baseURL: coordinator, token: try CoordinatorClient.token(file: tokenFile))
    }
}

func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
