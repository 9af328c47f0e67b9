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
}
