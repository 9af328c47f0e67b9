import Foundation
import LabelAPI
import Testing
import LabelClient

/// The coordinator client's failures that need a server other than a coordinator (or none at all): each is a
/// `ClientError` of its kind, said without the request it made. The coordinator's own refusals are walked in
/// CoordinatorTests' `ClientErrorEndToEndTests`.
@Suite("ClientError: failures without a working coordinator")
struct ClientErrorTests {
    @Test("an unreachable coordinator is named by its address, with what to check")
    func unreachable() async throws {
        let port = try closedPort()
        let client = CoordinatorClient(baseURL: "http://127.0.0.1:\(port)", token: "t", retry: .none)
        let error = try await refusal { _ = try await client.job("job-1") }
        #expect(error.kind == .transport(.couldNotConnect))
        #expect(error.description.hasPrefix("cannot reach the coordinator at http://127.0.0.1:\(port): "), "\(error)")
        #expect(error.description.hasSuffix("(is `labelmill serve` running there, and is the URL right?)"), "\(error)")
        #expect(error.isRetryable)
        expectPlain(error.description)
    }

    @Test("a failing server is unavailable, after the retries")
    func failing() async throws {
        try await TestServer.run { server in
            let client = CoordinatorClient(baseURL: server.url("/answer/503"), token: "t", retry: .none)
            let error = try await refusal { _ = try await client.jobs() }
            #expect(error.kind == .unavailable && error.status == 503 && error.isRetryable)
            #expect(error.description.contains("answered: it is busy or failing") && error.description.contains("try again"), "\(error)")
            expectPlain(error.description)
            // A proxy's 429 or 408 (after the retries) is busy, not a refusal: a worker must not fail an image on it.
            for status in [408, 429] {
                let busy = try await refusal {
                    _ = try await CoordinatorClient(baseURL: server.url("/answer/\(status)"), token: "t", retry: .none).jobs()
                }
                #expect(busy.kind == .unavailable && busy.isRetryable, "\(status): \(busy)")
            }
            // A status no coordinator sends is an answer this client cannot read.
            let teapot = try await refusal { _ = try await CoordinatorClient(baseURL: server.url("/answer/418"), token: "t", retry: .none).jobs() }
            #expect(teapot.kind == .unexpectedAnswer, "\(teapot)")
        }
    }

    @Test("a server that is not a coordinator: its 404, and an answer that is not the API's")
    func notACoordinator() async throws {
        try await TestServer.run { server in
            let missing = try await refusal {
                _ = try await CoordinatorClient(baseURL: server.url("/answer/404"), token: "t", retry: .none).job("job-1")
            }
            #expect(missing.kind == .notFound && missing.status == 404)
            #expect(missing.description == "the coordinator at \(server.url("/answer/404")) answered: it has no such page (<html>another server's page</html>)")
            expectPlain(missing.description)

            let garbled = try await refusal {
                _ = try await CoordinatorClient(baseURL: server.url("/answer/200"), token: "t", retry: .none).job("job-1")
            }
            #expect(garbled.kind == .unexpectedAnswer)
            #expect(garbled.description.contains("it is not valid JSON") && garbled.description.contains("same version"), "\(garbled)")
            expectPlain(garbled.description)
        }
    }

    @Test("a decoding problem names the field, not Swift's types")
    func decodingProblems() throws {
        struct Inner: Decodable { let state: JobState }
        struct Outer: Decodable { let jobs: [Inner] }
        func problem(_ json: String) -> String {
            switch Result(catching: { try JSONDecoder().decode(Outer.self, from: Data(json.utf8)) }) {
            case .success: "decoded"
            case .failure(let error): DecodingProblem.describe(error)
            }
        }
        #expect(problem(#"{"jobs": [{}]}"#) == "jobs[0].state is missing")
        #expect(problem(#"{"jobs": [{"state": 3}]}"#) == "jobs[0].state is not of the expected kind")
        #expect(problem(#"{"jobs": [{"state": "sleeping"}]}"#) == "jobs[0].state holds a value this client does not know")
        #expect(problem(#"{"jobs": null}"#) == "jobs is null")
        #expect(problem("nope") == "it is not valid JSON")
    }

    private func refusal(_ call: () async throws -> Void) async throws -> ClientError {
        do {
            try await call()
        } catch let error as ClientError {
            return error
        }
        throw CurlError(.other, "the call succeeded")
    }

    /// No route, HTTP method, status number or Swift type name in a message a person reads.
    private func expectPlain(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!text.contains("/v1/"), "a route in: \(text)", sourceLocation: sourceLocation)
        #expect(!text.contains("status 4") && !text.contains("status 5") && !text.contains("HTTP 4") && !text.contains("HTTP 5"),
                "a status number in: \(text)", sourceLocation: sourceLocation)
        let words = Set(text.split(whereSeparator: { !$0.isLetter }).map(String.init))
        #expect(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"].allSatisfy { !words.contains($0) }, "a method in: \(text)",
                sourceLocation: sourceLocation)
        #expect(["CurlError", "ClientError", "DecodingError", "CodingKeys"].allSatisfy { !text.contains($0) }, "a type in: \(text)",
                sourceLocation: sourceLocation)
    }

    /// A loopback port nothing listens on.
    private func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw CurlError(.io, "no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
