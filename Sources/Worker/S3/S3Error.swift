import LabelAPI

/// Why an S3 request or its configuration failed, in one line.
public struct S3Error: Error, CustomStringConvertible, Sendable {
    public let description: String
    /// Worth another try (throttling, a server error, a connection problem).
    public let isRetryable: Bool

    /// `description` loses any URL's user information (an endpoint given as `http://user:password@host`).
    public init(_ description: String, retryable: Bool = false) {
        self.description = MessageText.withoutCredentials(description)
        self.isRetryable = retryable
    }
}
