/// The 256 colours a label PNG's PLTE chunk carries, so class indices render as distinct colours.
public struct LabelPalette: Sendable {
    /// Exactly 256 entries, index `i` is the colour of class `i`.
    public let colors: [(UInt8, UInt8, UInt8)]

    /// A palette needs one colour per possible index; anything but 256 entries is a programming error.
    public init(colors: [(UInt8, UInt8, UInt8)]) {
        precondition(colors.count == 256, "a label palette has 256 colours, got \(colors.count)")
        self.colors = colors
    }

    /// The PASCAL VOC palette, so label PNGs look like the VOC `SegmentationClass` files:
    /// the bits of `i` are dealt round-robin to R, G, B from the most significant bit down
    /// (1 → (128, 0, 0), 2 → (0, 128, 0), 255 → (224, 224, 192)).
    public static let voc = LabelPalette(colors: (0..<256).map(vocColor))

    /// `"#rrggbb"` for index `index` (0...255), for legends and JSON exports.
    public func hex(_ index: Int) -> String {
        precondition((0..<256).contains(index), "palette index \(index) is outside 0...255")
        let (r, g, b) = colors[index]
        return "#" + [r, g, b].map(Self.twoDigitHex).joined()
    }

    private static func vocColor(_ index: Int) -> (UInt8, UInt8, UInt8) {
        var (r, g, b) = (0, 0, 0)
        var bits = index
        for shift in stride(from: 7, through: 0, by: -1) {
            r |= (bits & 1) << shift
            g |= ((bits >> 1) & 1) << shift
            b |= ((bits >> 2) & 1) << shift
            bits >>= 3
        }
        return (UInt8(r), UInt8(g), UInt8(b))
    }

    private static func twoDigitHex(_ value: UInt8) -> String {
        let digits = String(value, radix: 16)
        return value < 16 ? "0" + digits : digits
    }
}
