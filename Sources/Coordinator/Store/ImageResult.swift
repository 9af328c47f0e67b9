import LabelAPI

/// One image of a job as `Store.results` reports it, in manifest order.
public struct ImageResult: Codable, Sendable, Equatable {
    public var id: String
    public var uri: String
    public var state: ImageState
    /// Leases that included this image.
    public var attempts: Int
    public var error: String?
    public var labelSHA256: String?
    public var labelPath: String?
    public var width: Int?
    public var height: Int?
    /// A job with an output: the receipt's confidence map digest.
    public var confidenceSHA256: String?

    public init(id: String, uri: String, state: ImageState, attempts: Int, error: String? = nil, labelSHA256: String? = nil,
                labelPath: String? = nil, width: Int? = nil, height: Int? = nil, confidenceSHA256: String? = nil) {
        (self.id, self.uri, self.state, self.attempts, self.error) = (id, uri, state, attempts, error)
        (self.labelSHA256, self.labelPath, self.width, self.height) = (labelSHA256, labelPath, width, height)
        self.confidenceSHA256 = confidenceSHA256
    }
}
