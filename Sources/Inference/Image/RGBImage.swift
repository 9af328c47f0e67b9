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

extension RGBImage {
    /// The image shrunk to fit `maxSide` × `maxSide`, aspect kept, each output pixel the mean of the source pixels
    /// it covers (box filter, exact for fractional coverage); the image itself when it already fits.
    public func thumbnail(maxSide: Int) -> RGBImage {
        precondition(maxSide > 0, "a thumbnail needs a positive size")
        guard width > maxSide || height > maxSide else { return self }
        let scale = Double(maxSide) / Double(max(width, height))
        let outWidth = max(1, Int((Double(width) * scale).rounded())), outHeight = max(1, Int((Double(height) * scale).rounded()))
        let columns = Self.boxWeights(from: width, to: outWidth), rows = Self.boxWeights(from: height, to: outHeight)
        var out = [UInt8](repeating: 0, count: outWidth * outHeight * 3)
        var line = [Double](repeating: 0, count: width * 3)
        pixels.withUnsafeBufferPointer { source in
            for (oy, row) in rows.enumerated() {
                // Rows first: the weighted mean of the source rows this output row covers, then columns.
                for i in line.indices { line[i] = 0 }
                for (y, weight) in row {
                    let base = y * width * 3
                    for i in 0..<width * 3 { line[i] += Double(source[base + i]) * weight }
                }
                for (ox, column) in columns.enumerated() {
                    var r = 0.0, g = 0.0, b = 0.0
                    for (x, weight) in column {
                        r += line[3 * x] * weight
                        g += line[3 * x + 1] * weight
                        b += line[3 * x + 2] * weight
                    }
                    let at = (oy * outWidth + ox) * 3
                    out[at] = UInt8(min(255, max(0, r.rounded())))
                    out[at + 1] = UInt8(min(255, max(0, g.rounded())))
                    out[at + 2] = UInt8(min(255, max(0, b.rounded())))
                }
            }
        }
        return RGBImage(width: outWidth, height: outHeight, pixels: out)
    }

    /// For each of `output` cells over `input` samples: the samples it covers and their weights (summing to 1).
    private static func boxWeights(from input: Int, to output: Int) -> [[(Int, Double)]] {
        let step = Double(input) / Double(output)
        return (0..<output).map { o in
            let start = Double(o) * step, end = Double(o + 1) * step
            return (Int(start)..<min(input, Int(end.rounded(.up)))).compactMap { i in
                let covered = min(end, Double(i + 1)) - max(start, Double(i))
                return covered > 1e-9 ? (i, covered / step) : nil
            }
        }
    }
}
