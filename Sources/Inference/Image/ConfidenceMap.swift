/// Each pixel's confidence: the probability of its best class (docs/DENSE-MODES.md §2) times 255, rounded. Saved
/// as an 8-bit grayscale PNG next to the label map, for users who filter pseudo-labels.
public struct ConfidenceMap: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `width * height` bytes, row-major.
    public var values: [UInt8]

    public init(width: Int, height: Int, values: [UInt8]) {
        precondition(width > 0 && height > 0 && values.count == width * height,
                     "ConfidenceMap \(width)x\(height) needs \(width * height) values, got \(values.count)")
        self.width = width
        self.height = height
        self.values = values
    }

    /// An 8-bit grayscale PNG (PIL opens it as mode "L").
    public func png() throws -> [UInt8] { try PNGCodec.encode(values, width: width, height: height, palette: nil) }
}
