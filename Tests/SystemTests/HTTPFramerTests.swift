import Testing

/// The fault proxy's framing, on messages the coordinator never sends in the scenarios (chunked bodies,
/// bodiless answers) and on bytes that arrive one at a time.
@Suite struct HTTPFramerTests {
    /// Feeds `text` in pieces of `step` bytes and returns the events as short strings.
    static func frame(_ text: String, step: Int, bodyless: (HTTPFramer.Head) -> Bool = { _ in false }) throws -> [String] {
        var framer = HTTPFramer()
        var events: [String] = []
        var body: [UInt8] = []
        let bytes = Array(text.utf8)
        for start in stride(from: 0, to: bytes.count, by: step) {
            framer.append(bytes[start..<min(start + step, bytes.count)])
            while let event = try framer.next(bodyless: bodyless) {
                switch event {
                case .head(let head): events.append("head \(head.startLine.prefix(2).joined(separator: " "))")
                case .body(let piece): body += piece
                case .end:
                    events.append("end \(String(decoding: body, as: UTF8.self).debugDescription)")
                    body = []
                }
            }
        }
        return events
    }

    @Test(arguments: [1, 7, 4096])
    func requestsWithAndWithoutBodies(step: Int) throws {
        let stream = "PUT /v1/x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
        #expect(try Self.frame(stream, step: step) == [#"head PUT /v1/x"#, #"end "hello""#, #"head GET /healthz"#, #"end """#])
    }

    @Test(arguments: [1, 5, 4096])
    func chunkedAndBodilessResponses(step: Int) throws {
        let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: 1\r\n\r\n"
        let noContent = "HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n"
        let events = try Self.frame(chunked + noContent, step: step) { $0.status == 204 }
        #expect(events == [#"head HTTP/1.1 200"#, #"end "3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: 1\r\n\r\n""#, #"head HTTP/1.1 204"#, #"end """#])
    }
}
