import Foundation
import Hummingbird
import LabelAPI

/// Encodes a wire value as a JSON response (the wire types live in LabelAPI, which knows nothing of HTTP).
func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
    let encoder = WireJSON.encoder()
    let data = try encoder.encode(value)
    return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

extension Request {
    /// Decodes a JSON body of at most `limit` bytes.
    func decodeJSON<T: Decodable>(_ type: T.Type, limit: Int) async throws -> T {
        let buffer = try await body.collect(upTo: limit)
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch {
            throw CoordinatorError(.badRequest, "malformed \(T.self) body: \(error)")
        }
    }

    /// Query parameter `name` as a whole number in `range`: nil when absent, a 400 that names the parameter and
    /// the range when it is something else.
    func queryNumber<T: FixedWidthInteger>(_ name: String, in range: ClosedRange<T>) throws -> T? {
        guard let text = uri.queryParameters[name[...]] else { return nil }
        guard let value = T(text), range.contains(value) else {
            let allowed = range.upperBound == T.max ? "≥ \(range.lowerBound)" : "in \(range.lowerBound)...\(range.upperBound)"
            throw CoordinatorError(.badRequest, "query parameter \(name)=\(text) is not a whole number \(allowed)")
        }
        return value
    }
}

extension Parameters {
    /// The `{image}` path parameter with its percent-encoding removed (ids may be non-ASCII, and clients encode
    /// them). An id that breaks the rules (`ImageID`: a NUL, a slash, ...) names no image: 404, never a lookup
    /// that SQLite or the file system would read differently.
    func imageID(_ name: String = "image") throws -> String {
        let raw = try require(name)
        guard let decoded = raw.removingPercentEncoding else {
            throw CoordinatorError(.badRequest, "malformed percent-encoding in \(name)")
        }
        if let problem = ImageID.problem(decoded) { throw CoordinatorError(.notFound, "no image \(decoded.debugDescription): the id \(problem)") }
        return decoded
    }
}
