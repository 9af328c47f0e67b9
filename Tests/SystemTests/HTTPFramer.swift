import Foundation

/// Finds where HTTP/1.1 messages begin and end in one direction of a connection, so `TCPFaultProxy` can act on
/// whole requests and responses while it forwards the bytes untouched. It knows the start line, Content-Length,
/// chunked bodies and bodiless messages, and nothing else of HTTP.
struct HTTPFramer {
    /// The start line and header block of one message, with its bytes as they came.
    struct Head {
        var bytes: [UInt8]
        var startLine: [Substring]
        var headers: [String: String]

        /// Request: "GET", "PUT", ...
        var method: String { startLine.first.map(String.init) ?? "" }
        /// Request: the target without its query, e.g. /v1/tasks/3/heartbeat.
        var path: String { startLine.count > 1 ? String(startLine[1].prefix { $0 != "?" }) : "" }
        /// Response: the status code.
        var status: Int { startLine.count > 1 ? Int(startLine[1]) ?? 0 : 0 }
        var contentLength: Int? { headers["content-length"].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } }
        var isChunked: Bool { headers["transfer-encoding"]?.lowercased().contains("chunked") ?? false }
    }

    enum Event {
        case head(Head)
        /// Raw body bytes (chunk framing included) to forward.
        case body([UInt8])
        case end
    }

    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }

    private enum State {
        case head, fixed(Int), chunkSize, chunkData(Int), chunkDataEnd, trailer, untilClose, end
    }

    private var buffer: [UInt8] = []
    private var state = State.head
    private static let headLimit = 64 << 10

    mutating func append(_ bytes: ArraySlice<UInt8>) { buffer.append(contentsOf: bytes) }

    /// The next event from the bytes appended so far, or nil until more arrive. `bodyless(head)` says that a
    /// message has no body whatever its headers say (1xx, 204, 304, the answer to a HEAD request).
    mutating func next(bodyless: (Head) -> Bool) throws -> Event? {
        switch state {
        case .head:
            guard let end = Self.find([13, 10, 13, 10], in: buffer) else {
                if buffer.count > Self.headLimit { throw Malformed(description: "header block over \(Self.headLimit) bytes") }
                return nil
            }
            let head = try Self.parseHead(take(end + 4))
            if bodyless(head) {
                state = .end
            } else if head.isChunked {
                state = .chunkSize
            } else if let length = head.contentLength {
                state = length > 0 ? .fixed(length) : .end
            } else {  // a response without a length runs until the connection closes; a request has no body
                state = head.startLine.first?.hasPrefix("HTTP/") == true ? .untilClose : .end
            }
            return .head(head)
        case .fixed(let remaining):
            if buffer.isEmpty { return nil }
            let piece = take(min(remaining, buffer.count))
            state = remaining == piece.count ? .end : .fixed(remaining - piece.count)
            return .body(piece)
        case .chunkSize:
            guard let end = Self.find([13, 10], in: buffer) else { return nil }
            let line = take(end + 2)
            let digits = String(decoding: line.dropLast(2), as: UTF8.self).prefix { $0 != ";" }
            guard let size = Int(digits.trimmingCharacters(in: .whitespaces), radix: 16) else {
                throw Malformed(description: "bad chunk size \(digits.debugDescription)")
            }
            state = size == 0 ? .trailer : .chunkData(size)
            return .body(line)
        case .chunkData(let remaining):
            if buffer.isEmpty { return nil }
            let piece = take(min(remaining, buffer.count))
            state = remaining == piece.count ? .chunkDataEnd : .chunkData(remaining - piece.count)
            return .body(piece)
        case .chunkDataEnd:
            guard buffer.count >= 2 else { return nil }
            state = .chunkSize
            return .body(take(2))
        case .trailer:
            guard let end = Self.find([13, 10], in: buffer) else { return nil }
            let line = take(end + 2)
            if line.count == 2 { state = .end }
            return .body(line)
        case .untilClose:
            return buffer.isEmpty ? nil : .body(take(buffer.count))
        case .end:
            state = .head
            return .end
        }
    }

    private mutating func take(_ count: Int) -> [UInt8] {
        let piece = Array(buffer.prefix(count))
        buffer.removeFirst(count)
        return piece
    }

    private static func parseHead(_ bytes: [UInt8]) throws -> Head {
        let text = String(decoding: bytes, as: UTF8.self)
        let lines = text.split(separator: "\r\n", omittingEmptySubsequences: true)
        guard let first = lines.first else { throw Malformed(description: "empty start line") }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { throw Malformed(description: "bad header line \(line.debugDescription)") }
            headers[line[..<colon].lowercased()] = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
        }
        return Head(bytes: bytes, startLine: first.split(separator: " ", maxSplits: 2), headers: headers)
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<(start + needle.count)].elementsEqual(needle) { return start }
        }
        return nil
    }
}
