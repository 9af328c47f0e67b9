import Testing
import LabelClient

@Suite("Retries and backoff")
struct RetryTests {
    @Test("500 twice then 200 succeeds with the retry policy")
    func flakyThenOK() async throws {
        try await TestServer.run { server in
            let response = try await HTTPClient()
                .send(ClientRequest(url: server.url("/flaky/a/2")), retry: .immediate(maxAttempts: 3))
            #expect(response.status == 200)
            #expect(response.bodyText == "attempt 3")
            #expect(await server.state.records(pathPrefix: "/flaky/a").count == 3)
        }
    }

    @Test("when attempts run out the last retryable response is returned")
    func exhausted() async throws {
        try await TestServer.run { server in
            let response = try await HTTPClient()
                .send(ClientRequest(url: server.url("/flaky/b/10")), retry: .immediate(maxAttempts: 3))
            #expect(response.status == 500)
            #expect(await server.state.records(pathPrefix: "/flaky/b").count == 3)
        }
    }

    @Test("404 is not retried")
    func notRetried() async throws {
        try await TestServer.run { server in
            let response = try await HTTPClient()
                .send(ClientRequest(url: server.url("/status/404")), retry: .immediate(maxAttempts: 5))
            #expect(response.status == 404)
            #expect(await server.state.records(pathPrefix: "/status").count == 1)
        }
    }

    @Test("the backoff ceiling doubles from baseDelay up to maxDelay")
    func schedule() {
        let policy = RetryPolicy(maxAttempts: 8, baseDelay: .milliseconds(100), maxDelay: .seconds(1), jitter: .none)
        let delays = (1...6).map { policy.delay(afterAttempt: $0, random: 0.3) }
        #expect(delays == [100, 200, 400, 800, 1_000, 1_000].map { .milliseconds($0) })
        #expect(policy.ceiling(afterAttempt: 200) == .seconds(1))
    }

    @Test("full jitter scales the ceiling by the random draw")
    func fullJitter() {
        let policy = RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(100), maxDelay: .seconds(10), jitter: .full)
        #expect(policy.delay(afterAttempt: 3, random: 0.5) == .milliseconds(200))
        #expect(policy.delay(afterAttempt: 3, random: 0) == .zero)
        #expect(policy.delay(afterAttempt: 1, random: 0.999) <= .milliseconds(100))
    }

    @Test("the client sleeps the policy's delays between attempts, through the injected clock")
    func injectedClock() async throws {
        try await withRefusingPort { port in
            let recorder = SleepRecorder()
            let clock = RetryClock(sleep: { await recorder.record($0) }, random: { 0.5 })
            let client = HTTPClient(retryClock: clock)
            let policy = RetryPolicy(maxAttempts: 4, baseDelay: .seconds(1), maxDelay: .seconds(3), jitter: .full)
            let error = await #expect(throws: CurlError.self) {
                try await client.send(ClientRequest(url: "http://127.0.0.1:\(port)/"), retry: policy)
            }
            #expect(error?.code == .couldNotConnect)
            #expect(await recorder.delays == [.milliseconds(500), .seconds(1), .milliseconds(1_500)])
        }
    }
}

actor SleepRecorder {
    private(set) var delays: [Duration] = []
    func record(_ delay: Duration) { delays.append(delay) }
}
