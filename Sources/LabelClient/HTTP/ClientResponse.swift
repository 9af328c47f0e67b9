import LabelAPI
import Foundation

/// A complete response: status, the headers of the final response (after redirects) and the body.
public struct ClientResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: Int, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public var isSuccess: Bool { (200..<300).contains(status) }

    /// The body decoded as UTF-8 (invalid sequences repaired), for messages and small text payloads.
    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// Statuses worth another attempt: the server or something in front of it may recover.
    public var isRetryableStatus: Bool {
        CurlError.Code.httpStatus(status).isRetryable
    }

    /// `Retry-After` when given in seconds (the form servers use for 429 and 503).
    public var retryAfter: Duration? {
        guard let value = headers["Retry-After"], let seconds = Int(value), seconds >= 0 else { return nil }
        return .seconds(seconds)
    }

    /// Returns self for a 2xx status, otherwise throws `CurlError.httpStatus` carrying the server's
    /// explanation (see `explanation(of:)`).
    @discardableResult
    public func requireOK(_ context: String = "") throws(CurlError) -> ClientResponse {
        guard isSuccess else {
            let prefix = context.isEmpty ? "" : context + ": "
            let explanation = Self.explanation(of: body)
            throw CurlError(.httpStatus(status), "\(prefix)HTTP \(status): \(explanation)", explanation: explanation)
        }
        return self
    }

    /// What an error body says: the message of a labelmill error body (`{"error": {"code", "message"}}`), or
    /// else the start of the body as text.
    static func explanation(of body: [UInt8]) -> String {
        if let error = try? JSONDecoder().decode(ErrorBody.self, from: Data(body)) { return error.error.message }
        return String(String(decoding: body.prefix(1_000), as: UTF8.self))
    }
}
