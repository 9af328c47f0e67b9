import LabelAPI

/// Why an S3 request or its configuration failed, in one line.
public struct S3Error: Error, CustomStringConvertible, Sendable {
    public let description: String
    /// Worth another try (throttling, a server error, a connection problem).
    public let isRetryable: Bool
    /// The HTTP status S3 answered, when it answered (404: no such key or bucket).
    public let status: Int?

    /// `description` loses any URL's user information (an endpoint given as `http://user:password@host`).
    public init(_ description: String, retryable: Bool = false, status: Int? = nil) {
        self.description = MessageText.withoutCredentials(description)
        self.isRetryable = retryable
        self.status = status
    }
}
