/// Why an S3 request or its configuration failed, in one line.
public struct S3Error: Error, CustomStringConvertible, Sendable {
    public let description: String
    /// Worth another try (throttling, a server error, a connection problem).
    public let isRetryable: Bool

    public init(_ description: String, retryable: Bool = false) {
        self.description = description
        self.isRetryable = retryable
    }
}
