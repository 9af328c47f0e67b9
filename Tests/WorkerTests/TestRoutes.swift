import Hummingbird

/// The routes of `TestServer`.
struct TestRoutes: Sendable {
    let files: [String: [UInt8]]
    let hub: FakeHub?
    let state: ServerState

    struct DropConnection: Error {}

    func add(to router: Router<TestRequestContext>) {
        router.middlewares.add(RecordingMiddleware(state: state))
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] {
            router.on("/echo", method: method) { request, context in try await echo(request, context) }
        }
        router.get("/status/:code") { _, context in
            let code = try context.parameters.require("code", as: Int.self)
            return Response(status: .init(code: code), body: .init(byteBuffer: ByteBuffer(string: "status \(code) body")))
        }
        // Any path under it answers with the status and a body that is not labelmill's: a server that is not a
        // coordinator, or one failing, to a client whose base URL ends in /answer/<status>.
        router.get("/answer/:code/**") { _, context in
            let code = try context.parameters.require("code", as: Int.self)
            return Response(status: .init(code: code), body: .init(byteBuffer: ByteBuffer(string: "<html>another server's page</html>")))
        }
        router.get("/flaky/:key/:failures") { _, context in
            let failures = try context.parameters.require("failures", as: Int.self)
            let seen = await state.next(try context.parameters.require("key"))
            let status: HTTPResponse.Status = seen < failures ? .internalServerError : .ok
            return Response(status: status, body: .init(byteBuffer: ByteBuffer(string: "attempt \(seen + 1)")))
        }
        router.get("/slow/:ms") { _, context in
            try await Task.sleep(for: .milliseconds(try context.parameters.require("ms", as: Int.self)))
            return "slow"
        }
        router.get("/files/:name") { request, context in
            try serve(try file(context), request)
        }
        // The whole file, 32 KiB every 20 ms: slow enough for concurrent downloads to overlap.
        router.get("/trickle/:name") { _, context in
            let data = try file(context)
            return Response(status: .ok, body: .init(contentLength: data.count) { writer in
                for start in stride(from: 0, to: data.count, by: 32_768) {
                    try await writer.write(ByteBuffer(bytes: data[start..<min(start + 32_768, data.count)]))
                    try await Task.sleep(for: .milliseconds(20))
                }
            })
        }
        router.get("/norange/:name") { _, context in
            Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: try file(context))))
        }
        // The first request sends the headers of the whole file, `bytes` bytes, then drops the connection.
        router.get("/once-drop/:name/:bytes") { request, context in
            let data = try file(context)
            guard await state.next("drop " + (context.parameters.get("name") ?? "")) == 0 else { return try serve(data, request) }
            let prefix = Array(data.prefix(try context.parameters.require("bytes", as: Int.self)))
            return Response(status: .ok, body: .init(contentLength: data.count) { writer in
                try await writer.write(ByteBuffer(bytes: prefix))
                try await Task.sleep(for: .milliseconds(50))
                throw DropConnection()
            })
        }
        if let hub { FakeHubRoutes(hub: hub).add(to: router) }
    }

    private func file(_ context: TestRequestContext) throws -> [UInt8] {
        guard let data = files[try context.parameters.require("name")] else { throw HTTPError(.notFound) }
        return data
    }

    private func echo(_ request: Request, _ context: TestRequestContext) async throws -> Response {
        let body = try await request.body.collect(upTo: 16 << 20)
        var headers = HTTPFields()
        headers[FieldName("X-Method")!] = request.method.rawValue
        headers[FieldName("X-Remote-Port")!] = context.remotePort.map { "\($0)" } ?? "none"
        for field in request.headers {
            headers.append(Field(name: FieldName("X-Echo-" + field.name.canonicalName)!, value: field.value))
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
    }
}

/// Serves `data` honouring `Range: bytes=N-` (206 with Content-Range, or 416 past the end).
func serve(_ data: [UInt8], _ request: Request) throws -> Response {
    guard let range = request.headers[.range], range.hasPrefix("bytes="),
        let start = Int(range.dropFirst(6).prefix { $0.isNumber })
    else {
        return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
    guard start < data.count else {
        return Response(status: .rangeNotSatisfiable, headers: [.contentRange: "bytes */\(data.count)"])
    }
    let headers: HTTPFields = [.contentRange: "bytes \(start)-\(data.count - 1)/\(data.count)"]
    return Response(status: .partialContent, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data[start...])))
}

/// Records every request in `ServerState` before routing.
struct RecordingMiddleware: RouterMiddleware {
    let state: ServerState

    func handle(_ request: Request, context: TestRequestContext, next: (Request, TestRequestContext) async throws -> Response) async throws -> Response {
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        await state.record(.init(method: request.method.rawValue, path: request.uri.path, headers: headers, remotePort: context.remotePort))
        return try await next(request, context)
    }
}

/// HTTPTypes' field types, reached through HTTPFields (Hummingbird re-exports only that).
typealias Field = HTTPFields.Element
typealias FieldName = HTTPFields.Element.Name
