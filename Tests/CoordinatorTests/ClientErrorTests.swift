import Foundation
import LabelAPI
import LabelClient
import TestSupport
import Testing

/// Every way a call to a real coordinator can be refused, through the client kit: each is a `ClientError` of its
/// own kind whose text says what is wrong in the coordinator's words, and never names a route, an HTTP method or a
/// Swift type. (The paths that need a misbehaving server, or none, are in WorkerTests' `ClientErrorTests`.)
@Suite struct ClientErrorEndToEndTests {
    @Test(.timeLimit(.minutes(2)))
    func everyRefusalHasItsKindAndPlainWords() async throws {
        let live = try await LiveCoordinator.start(limits: 3000)
        defer { live.stop() }
        let job = try await live.submit(#"{"id": "a", "uri": "/data/a.png"}"#)
        let task = try #require(try await live.worker.claim(ClaimRequest(worker: "w1")))

        let intruder = CoordinatorClient(baseURL: live.url, token: "not-the-token", retry: .none)
        try await expect(.unauthorized, saying: "check --token-file or LABELMILL_TOKEN") { _ = try await intruder.jobs() }
        try await expect(.forbidden, saying: "needs the admin token") { _ = try await live.worker.jobs() }
        try await expect(.notFound, saying: "job-nothing") { _ = try await live.admin.job("job-nothing") }
        try await expect(.leaseLost, saying: "task \(task.taskId)") {
            _ = try await live.worker.heartbeat(task: task.taskId, token: "stale-token")
        }
        try await expect(.invalidUpload, saying: "PNG") {
            try await live.worker.uploadLabel(task: task.taskId, image: "a", token: task.leaseToken, png: Array("not a png".utf8),
                                              width: 4, height: 4)
        }
        try await expect(.tooLarge, saying: "3000 bytes") {
            try await live.worker.uploadLabel(task: task.taskId, image: "a", token: task.leaseToken, png: [UInt8](repeating: 0, count: 5000),
                                              width: 4, height: 4)
        }
        try await expect(.refused, saying: "no class names given") {
            _ = try await live.admin.createJob(CreateJobRequest(name: "none", model: "tiny", classes: [], settings: JobSettings(),
                                                                idempotencyKey: nil, manifest: "/data/b.png"))
        }
        _ = try await live.admin.cancel(job)
        try await expect(.conflict, saying: "cancelled") { _ = try await live.admin.retryFailed(job) }
    }

    private func expect(_ kind: ClientError.Kind, saying words: String, sourceLocation: SourceLocation = #_sourceLocation,
                        _ call: () async throws -> Void) async throws {
        do {
            try await call()
            Issue.record("expected a refusal (\(kind)), the call succeeded", sourceLocation: sourceLocation)
        } catch let error as ClientError {
            #expect(error.kind == kind, "\(error.description)", sourceLocation: sourceLocation)
            #expect(error.description.contains(words), "\(error.description)", sourceLocation: sourceLocation)
            ClientErrorText.expectPlain(error.description, sourceLocation: sourceLocation)
        }
    }
}

/// What a user-facing message must not hold: a route, an HTTP method, a status line, a Swift type name.
enum ClientErrorText {
    static let methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
    static let typeNames = ["ClientError", "CurlError", "StoreError", "CoordinatorError", "DecodingError", "CodingKeys",
                            "Optional(", "Error Domain", "Swift."]

    static func expectPlain(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!text.contains("/v1/") && !text.contains("/label-studio/"), "a route in: \(text)", sourceLocation: sourceLocation)
        let words = Set(text.split(whereSeparator: { !$0.isLetter }).map(String.init))
        #expect(methods.allSatisfy { !words.contains($0) }, "an HTTP method in: \(text)", sourceLocation: sourceLocation)
        #expect(!text.contains("HTTP 4") && !text.contains("HTTP 5") && !text.contains("status 4") && !text.contains("status 5"),
                "a status number in: \(text)", sourceLocation: sourceLocation)
        #expect(typeNames.allSatisfy { !text.contains($0) }, "a type name in: \(text)", sourceLocation: sourceLocation)
    }
}
