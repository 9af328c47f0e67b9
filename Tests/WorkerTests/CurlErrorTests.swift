import Testing
import LabelClient

@Suite("CurlError classification")
struct CurlErrorTests {
    @Test("a request slower than its timeout fails as timedOut, which is retryable")
    func timeout() async throws {
        try await TestServer.run { server in
            let request = ClientRequest(url: server.url("/slow/3000"), timeout: .milliseconds(300))
            let error = await #expect(throws: CurlError.self) { try await HTTPClient().send(request) }
            #expect(error?.code == .timedOut)
            #expect(error?.isRetryable == true)
            #expect(error?.curlCode == 28)
        }
    }

    @Test("a closed port fails as couldNotConnect, which is retryable")
    func connectionRefused() async throws {
        try await withRefusingPort { port in
            let error = await #expect(throws: CurlError.self) {
                try await HTTPClient().send(ClientRequest(url: "http://127.0.0.1:\(port)/echo"))
            }
            #expect(error?.code == .couldNotConnect)
            #expect(error?.isRetryable == true)
            #expect(error?.message.contains("127.0.0.1:\(port)") == true)
        }
    }

    @Test("404 is returned as a response; requireOK turns it into a non-retryable error with the body")
    func notFound() async throws {
        try await TestServer.run { server in
            let response = try await HTTPClient().send(ClientRequest(url: server.url("/status/404")))
            #expect(response.status == 404)
            let error = #expect(throws: CurlError.self) { try response.requireOK("fetch task") }
            #expect(error?.code == .httpStatus(404))
            #expect(error?.isRetryable == false)
            #expect(error?.message.contains("status 404 body") == true)
            #expect(error?.message.hasPrefix("fetch task: ") == true)
        }
    }

    @Test(
        "isRetryable follows the code",
        arguments: [
            (CurlError.Code.couldNotConnect, true), (.timedOut, true), (.sendOrReceiveFailed, true),
            (.httpStatus(500), true), (.httpStatus(503), true), (.httpStatus(408), true), (.httpStatus(429), true),
            (.httpStatus(400), false), (.httpStatus(401), false), (.httpStatus(404), false), (.httpStatus(409), false),
            (.tlsOrProtocol, false), (.checksumMismatch, false), (.sizeMismatch, false), (.io, false),
            (.cancelled, false), (.other, false),
        ])
    func retryable(code: CurlError.Code, expected: Bool) {
        #expect(CurlError(code, "x").isRetryable == expected)
    }

    @Test("cancelling the task aborts a running transfer")
    func cancellation() async throws {
        try await TestServer.run { server in
            let client = HTTPClient()
            let task = Task { try await client.send(ClientRequest(url: server.url("/slow/5000"))) }
            try await Task.sleep(for: .milliseconds(200))
            task.cancel()
            let start = ContinuousClock.now
            let result = await task.result
            // Before the 5 s transfer could have ended. (3 s was missed by 0.09 s once, the suite loaded by Label
            // Studio's first start beside it: a second under the transfer still shows it was aborted.)
            #expect(ContinuousClock.now - start < .seconds(4))
            #expect(throws: CurlError.self) { try result.get() }
            #expect((try? result.get()) == nil)
            if case .failure(let error as CurlError) = result { #expect(error.code == .cancelled) }
        }
    }
}
