import Foundation
import Testing
import LabelClient

@Suite("HTTPClient against a loopback server")
struct HTTPClientTests {
    @Test("several requests reuse one keep-alive connection")
    func keepAlive() async throws {
        try await TestServer.run { server in
            let client = HTTPClient(configuration: .init(threads: 1))
            var ports: [String] = []
            for _ in 0..<4 {
                let response = try await client.send(ClientRequest(url: server.url("/echo"))).requireOK()
                ports.append(try #require(response.headers["x-remote-port"]))
            }
            #expect(Set(ports).count == 1)
            #expect(await server.state.records(pathPrefix: "/echo").count == 4)
        }
    }

    @Test("headers and bodies round trip", arguments: [ClientRequest.Method.put, .post, .patch])
    func roundTrip(method: ClientRequest.Method) async throws {
        try await TestServer.run { server in
            let client = HTTPClient()
            let body = testBytes(70_000) + Array(0...255)
            let request = ClientRequest(
                method: method, url: server.url("/echo"),
                headers: ["X-Test-Token": "abc 123", "Content-Type": "application/octet-stream"], body: .bytes(body))
            let response = try await client.send(request).requireOK()
            #expect(response.body == body)
            #expect(response.headers["X-METHOD"] == method.rawValue)
            #expect(response.headers["x-echo-x-test-token"] == "abc 123")
            #expect(response.headers["X-Echo-Content-Length"] == "\(body.count)")
            #expect(response.headers["X-Echo-Expect"] == nil)
        }
    }

    @Test("a file body is streamed from disk; a bodyless POST sends no form content type")
    func fileUpload() async throws {
        try await withTemporaryDirectory { directory in
            try await TestServer.run { server in
                let path = directory + "/upload.bin"
                let bytes = testBytes(1_234_567, seed: 7)
                try writeFile(path, bytes)
                let client = HTTPClient()
                let response = try await client.send(ClientRequest(method: .put, url: server.url("/echo"), body: .file(path: path)))
                #expect(response.status == 200)
                #expect(response.body == bytes)
                let empty = try await client.send(ClientRequest(method: .post, url: server.url("/echo")))
                #expect(empty.body.isEmpty)
                #expect(empty.headers["X-Echo-Content-Type"] == nil)
                #expect(empty.headers["X-Echo-Content-Length"] == "0")
            }
        }
    }

    /// A manifest's URL names its object as written: `x/../y.png` is not `y.png` to every server (S3 keys are
    /// opaque), so libcurl must not remove dot segments.
    @Test("dot segments in a URL's path are sent as they are")
    func dotSegmentsAreSentAsTheyAre() async throws {
        try await TestServer.run { server in
            let client = HTTPClient()
            for path in ["/files/p/x/../y.png", "/files/p/./z.png", "/files/../etc/q.png"] {
                _ = try await client.send(ClientRequest(url: server.url(path)))
            }
            let paths = await server.state.records(pathPrefix: "/").map(\.path)
            #expect(paths == ["/files/p/x/../y.png", "/files/p/./z.png", "/files/../etc/q.png"])
        }
    }

    @Test("a URL's user information never reaches an error message")
    func credentialsInAURLStayOutOfErrors() async throws {
        try await withRefusingPort { port in
            let client = HTTPClient(configuration: .init(session: .init(connectTimeout: .seconds(2))))
            do {
                _ = try await client.send(ClientRequest(url: "http://minio:SuperSecretPw@127.0.0.1:\(port)/bucket/x.png"))
                Issue.record("a refusing port answered")
            } catch let error as CurlError {
                #expect(!error.message.contains("SuperSecretPw") && !error.message.contains("minio:"), "\(error.message)")
                #expect(error.message.contains("http://127.0.0.1:\(port)/bucket/x.png"), "\(error.message)")
            }
        }
    }

    @Test("the bearer token is sent; a request's own Authorization wins")
    func bearerToken() async throws {
        try await TestServer.run { server in
            let client = HTTPClient(configuration: .init(session: .init(bearerToken: "s3cret")))
            let response = try await client.send(ClientRequest(url: server.url("/echo")))
            #expect(response.headers["X-Echo-Authorization"] == "Bearer s3cret")
            let own = try await client.send(ClientRequest(url: server.url("/echo"), headers: ["Authorization": "Basic eA=="]))
            #expect(own.headers.values(for: "X-Echo-Authorization") == ["Basic eA=="])
        }
    }

    @Test("a header value with a line break is rejected before anything is sent")
    func headerInjection() async throws {
        let client = HTTPClient()
        let request = ClientRequest(url: "http://127.0.0.1:1/", headers: ["X-Bad": "a\r\nX-Evil: 1"])
        let error = await #expect(throws: CurlError.self) { try await client.send(request) }
        #expect(error?.code == .other)
    }

    @Test("HEAD returns headers without a body")
    func head() async throws {
        try await TestServer.run(files: ["a.bin": testBytes(5_000)]) { server in
            let response = try await HTTPClient().send(ClientRequest(method: .head, url: server.url("/files/a.bin")))
            #expect(response.status == 200)
            #expect(response.headers["Content-Length"] == "5000")
            #expect(response.body.isEmpty)
        }
    }
}
