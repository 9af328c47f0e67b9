import Foundation
import LabelAPI

/// Why a call to the coordinator failed, in a user's words: what is missing or wrong and, where it is obvious, what
/// to do; never a route, an HTTP method or a type name. `kind` tells failures apart: from the error body's `code`
/// when the coordinator answered, else from the status, else from how the transport failed.
public struct ClientError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The token was refused.
        case unauthorized
        /// The token may not do this (a worker token where the admin token is needed).
        case forbidden
        case notFound
        /// The change conflicts with what is there (a different label for a done image, a job in the wrong state).
        case conflict
        /// The worker no longer holds the task: its lease token is not the current one, or it expired.
        case leaseLost
        /// The request was refused as malformed or not allowed.
        case refused
        /// An uploaded label map, thumbnail or confidence map was checked and refused.
        case invalidUpload
        case tooLarge
        /// The coordinator is busy or failing (after the retries).
        case unavailable
        /// The coordinator could not be reached, or the exchange broke off (after the retries).
        case transport(CurlError.Code)
        /// It answered something this client cannot read: not a labelmill coordinator, or another version.
        case unexpectedAnswer
    }

    public let kind: Kind
    /// What happened; for an answered call, the coordinator's own words.
    public let message: String
    /// The HTTP status, when the coordinator answered.
    public let status: Int?

    public init(_ kind: Kind, _ message: String, status: Int? = nil) {
        (self.kind, self.status) = (kind, status)
        self.message = MessageText.withoutCredentials(message)
    }

    /// What to do about it, when that is obvious.
    public var hint: String? {
        switch kind {
        case .unauthorized: "the coordinator refused the token: check --token-file or LABELMILL_TOKEN"
        case .forbidden: "this needs the admin token, not the worker token"
        case .unavailable: "the coordinator is busy or failing: try again, and see its log if it goes on"
        case .transport(.couldNotConnect): "is `labelmill serve` running there, and is the URL right?"
        case .transport(.tlsOrProtocol): Self.plainHTTP
        case .unexpectedAnswer: "is the URL a labelmill coordinator of the same version?"
        default: nil
        }
    }

    public var description: String { hint.map { "\(message) (\($0))" } ?? message }

    /// What to do when TLS or the protocol failed: labelmill's coordinator speaks plain HTTP.
    public static let plainHTTP = "use http://: labelmill speaks plain HTTP; put a TLS proxy in front of it for https"

    /// Worth another try later: the coordinator was unreachable or busy.
    public var isRetryable: Bool {
        switch kind {
        case .unavailable: true
        case .transport(let code): code.isRetryable
        default: false
        }
    }

    /// The coordinator answered with an error: its kind from the body's `code` (else the status), its words.
    init(answer response: ClientResponse, from coordinator: String) {
        let body = try? JSONDecoder().decode(ErrorBody.self, from: Data(response.body))
        let kind = body.flatMap { ErrorCode(rawValue: $0.error.code) }.map(Self.kind(of:)) ?? Self.kind(status: response.status)
        if let body {
            self.init(kind, body.error.message, status: response.status)
            return
        }
        // Not labelmill's answer (a proxy's, or a server that is not a coordinator): what it means, in words, and
        // what it said.
        let words = ClientResponse.explanation(of: response.body)
        let meaning = switch kind {
        case .unauthorized: "it asks for credentials"
        case .forbidden: "it refuses access"
        case .notFound: "it has no such page"
        case .conflict: "it reports a conflict"
        case .tooLarge: "the request is too large for it"
        case .invalidUpload: "it refuses the upload"
        case .unavailable: "it is busy or failing"
        case .refused: "it refuses the request"
        case .leaseLost, .transport, .unexpectedAnswer: "an answer this client cannot read"
        }
        self.init(kind, "the coordinator at \(coordinator) answered: \(meaning)\(words.isEmpty ? "" : " (\(words))")",
                  status: response.status)
    }

    /// The exchange with the coordinator failed before an answer: said with its address, not the request's.
    init(transport error: CurlError, to coordinator: String) {
        let why = error.explanation ?? error.message
        let message = switch error.code {
        case .couldNotConnect: "cannot reach the coordinator at \(coordinator): \(why)"
        case .timedOut: "the coordinator at \(coordinator) did not answer in time: \(why)"
        case .sendOrReceiveFailed: "the connection to the coordinator at \(coordinator) broke: \(why)"
        case .tlsOrProtocol: "the coordinator at \(coordinator) could not be talked to: \(why)"
        case .cancelled: "cancelled"
        case .httpStatus: "the coordinator at \(coordinator) refused the request: \(why)"
        case .io, .checksumMismatch, .sizeMismatch: error.message  // a local file's failure, by its path
        case .other: "a request to the coordinator at \(coordinator) could not be made: \(why)"
        }
        self.init(.transport(error.code), message)
    }

    static func kind(of code: ErrorCode) -> Kind {
        switch code {
        case .unauthorized: .unauthorized
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .conflict: .conflict
        case .leaseLost: .leaseLost
        case .badRequest, .methodNotAllowed: .refused
        case .invalidUpload: .invalidUpload
        case .tooLarge: .tooLarge
        case .unavailable, .internalError: .unavailable
        }
    }

    /// A status without labelmill's error body (a proxy's, or a server that is not a coordinator): only the
    /// statuses that say the same whoever sends them get a kind of their own; busy or failing ones may pass.
    static func kind(status: Int) -> Kind {
        switch status {
        case 400, 405: .refused
        case 401: .unauthorized
        case 403: .forbidden
        case 404: .notFound
        case 409: .conflict
        case 413: .tooLarge
        case 422: .invalidUpload
        case 408, 429, 500...: .unavailable
        default: .unexpectedAnswer
        }
    }

    /// An answer whose body is not what the call expects.
    static func unreadable(_ what: String, _ error: any Error, from coordinator: String) -> ClientError {
        ClientError(.unexpectedAnswer, "the coordinator at \(coordinator) sent \(what) this client cannot read: \(DecodingProblem.describe(error))")
    }
}
