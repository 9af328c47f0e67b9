/// Status and headers of the final response (after redirects and 1xx interim responses).
struct ResponseHead: Sendable {
    var status: Int
    var headers: HTTPHeaders
}

/// Where a transfer puts the response body. Called on the transfer's thread, in order:
/// `begin` once (before the first body byte, or after the transfer when there is no body),
/// then `write` for each chunk. Throwing aborts the transfer with that error.
protocol ResponseSink: AnyObject {
    func begin(_ head: ResponseHead) throws(CurlError)
    func write(_ bytes: UnsafeRawBufferPointer) throws(CurlError)
}

/// Collects the body in memory, for API calls.
final class MemorySink: ResponseSink {
    private(set) var body: [UInt8] = []

    func begin(_ head: ResponseHead) throws(CurlError) {
        if let length = head.headers["Content-Length"].flatMap(Int.init), length > 0 {
            body.reserveCapacity(min(length, 64 << 20))
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws(CurlError) {
        body.append(contentsOf: bytes)
    }
}

/// Parses the header lines libcurl hands over, one at a time. A status line starts a new block,
/// so after redirects and `100 Continue` only the final response's headers remain.
package struct HeaderParser {
    package private(set) var status = 0
    package private(set) var headers = HTTPHeaders()

    package init() {}

    package mutating func consume(_ raw: UnsafeRawBufferPointer) {
        var line = String(decoding: raw, as: UTF8.self)
        while let last = line.last, last.isNewline { line.removeLast() }  // "\r\n" is one Character
        if line.hasPrefix("HTTP/") {
            let parts = line.split(separator: " ", maxSplits: 2)
            status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
            headers = HTTPHeaders()
        } else if let colon = line.firstIndex(of: ":") {
            let name = line[..<colon].trimmingSpaces
            let value = line[line.index(after: colon)...].trimmingSpaces
            if !name.isEmpty { headers.add(name, value) }
        }
    }

    var head: ResponseHead { ResponseHead(status: status, headers: headers) }
}

extension Substring {
    var trimmingSpaces: String {
        var s = self[...]
        while let first = s.first, first == " " || first == "\t" { s.removeFirst() }
        while let last = s.last, last == " " || last == "\t" { s.removeLast() }
        return String(s)
    }
}
