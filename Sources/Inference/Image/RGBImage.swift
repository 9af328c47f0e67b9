/// A decoded photograph: 8-bit RGB, interleaved, row-major, no alpha and no colour management.
///
/// This is what every decoder produces (JPEG, PNG of any colour type) so that the vision tower's
/// preprocessing sees one layout, the same bytes that PIL's `Image.open(f).convert("RGB")` gives.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `width * height * 3` bytes: R, G, B of pixel (0, 0), then (1, 0), ...
    public let pixels: [UInt8]

    /// The pixel count must match the dimensions; a mismatch is a programming error.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0, "RGBImage needs positive dimensions, got \(width)x\(height)")
        precondition(pixels.count == width * height * 3,
                     "RGBImage \(width)x\(height) needs \(width * height * 3) bytes, got \(pixels.count)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}
