import LabelAPI

/// The one error type of the HTTP client and downloader. Callers decide whether to try again
/// from `isRetryable`, never from the message.
public struct CurlError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Hashable {
        /// DNS failure, refused or unreachable: nothing was sent.
        case couldNotConnect
        /// The connect, total or stall timeout expired.
        case timedOut
        /// The connection broke mid-exchange (reset, closed early, short body).
        case sendOrReceiveFailed
        /// The server answered with a status the caller did not accept.
        case httpStatus(Int)
        /// TLS handshake or certificate failure, malformed URL or response, too many redirects.
        case tlsOrProtocol
        /// A download's SHA-256 differs from the expected one.
        case checksumMismatch
        /// A download's size differs from the expected one.
        case sizeMismatch
        /// A local file could not be read or written.
        case io
        /// The calling task was cancelled.
        case cancelled
        case other

        /// Transport failures, timeouts, 5xx, 408 and 429 may succeed later; everything else
        /// (other 4xx, bad data, local failures) will fail the same way again.
        public var isRetryable: Bool {
            switch self {
            case .couldNotConnect, .timedOut, .sendOrReceiveFailed:
                return true
            case .httpStatus(let status):
                return status >= 500 || status == 408 || status == 429
            case .tlsOrProtocol, .checksumMismatch, .sizeMismatch, .io, .cancelled, .other:
                return false
            }
        }
    }

    public var code: Code
    /// What failed and where (method and URL or file path), with libcurl's own explanation.
    public var message: String
    /// libcurl's CURLcode when the failure came from libcurl.
    public var curlCode: Int?
    /// The failure without the request: for `httpStatus`, what the server said (`message` has the request and the
    /// status too); for a libcurl failure, libcurl's own words.
    public var explanation: String?

    /// `message` loses any URL's user information (`http://user:password@host` is quoted as `http://host`).
    public init(_ code: Code, _ message: String, curlCode: Int? = nil, explanation: String? = nil) {
        self.code = code
        self.message = MessageText.withoutCredentials(message)
        self.curlCode = curlCode
        self.explanation = explanation.map(MessageText.withoutCredentials)
    }

    public var isRetryable: Bool { code.isRetryable }

    /// The message alone: what people read (logs, a job's problems) names what failed, not Swift types.
    public var description: String { message }

    static func cancelled(_ what: String) -> CurlError {
        CurlError(.cancelled, "\(what): cancelled")
    }
}
