/// A per-pixel class map: one byte per pixel, the class index, `LabelMap.void` where no class applies.
///
/// Stored on disk as a palette PNG (`ImageCodec.encodeLabelPNG`) so that it opens as a coloured picture
/// in any viewer while the raw indices stay exact.
public struct LabelMap: Sendable, Equatable {
    /// The index PASCAL VOC uses for "ignore" (object boundaries, unlabeled pixels).
    public static let void: UInt8 = 255

    public let width: Int
    public let height: Int
    /// `width * height` class indices, row-major. Mutable so a labeler can fill it in place;
    /// keep the count unchanged (the encoder checks it).
    public var indices: [UInt8]

    /// The index count must match the dimensions; a mismatch is a programming error.
    public init(width: Int, height: Int, indices: [UInt8]) {
        precondition(width > 0 && height > 0, "LabelMap needs positive dimensions, got \(width)x\(height)")
        precondition(indices.count == width * height,
                     "LabelMap \(width)x\(height) needs \(width * height) indices, got \(indices.count)")
        self.width = width
        self.height = height
        self.indices = indices
    }
}
