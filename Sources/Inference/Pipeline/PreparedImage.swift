/// Mean and standard deviation on the 0...255 scale, per RGB channel.
public struct PixelStatistics: Sendable, Equatable {
    public var mean: (Float, Float, Float)
    public var std: (Float, Float, Float)

    public static func == (l: Self, r: Self) -> Bool { l.mean == r.mean && l.std == r.std }

    /// CLIP's own statistics (the checkpoint's preprocessing).
    public static let clip = PixelStatistics(
        mean: (0.481_454_66 * 255, 0.457_827_5 * 255, 0.408_210_73 * 255),
        std: (0.268_629_54 * 255, 0.261_302_58 * 255, 0.275_777_11 * 255))
    /// ImageNet's, which the MaskCLIP reference code uses.
    public static let imageNet = PixelStatistics(mean: (123.675, 116.28, 103.53), std: (58.395, 57.12, 57.375))
}

/// An image resized and normalised for the vision tower, made whole patches: planes [3, inputHeight, inputWidth].
package struct PreparedImage {
    /// How a resized side that is not a multiple of the patch size becomes whole patches.
    package enum PatchRounding {
        /// Zero padding at the bottom and right (MaskCLIP).
        case padUp
        /// Zero padding split around the image, the odd row or column at the bottom or right (ClearCLIP's windows).
        case padAround
        /// The last `side mod P` rows and columns are left out, as the newer dense modes' patch convolution does
        /// (a side shorter than one patch is still padded to one).
        case cutDown
        /// Not made whole patches: the resized image as it is, which sliding windows are cut from.
        case asResized

        /// The input side for an image side, and the padding before it.
        func input(_ side: Int, patch p: Int) -> (size: Int, before: Int) {
            switch self {
            case .padUp: ((side + p - 1) / p * p, 0)
            case .padAround: ((side + p - 1) / p * p, ((side + p - 1) / p * p - side) / 2)
            case .cutDown: (max(1, side / p) * p, 0)
            case .asResized: (side, 0)
            }
        }
    }

    let height: Int, width: Int                 // the source
    package let resizedHeight: Int, resizedWidth: Int   // nh, nw
    package let inputHeight: Int, inputWidth: Int       // multiples of the patch size (unless rounded .asResized)
    /// Where the resized image starts in the input (padding before it: `.padAround` only).
    let top: Int, left: Int
    let patch: Int
    package var planes: [Float]

    package var gridHeight: Int { inputHeight / patch }
    package var gridWidth: Int { inputWidth / patch }

    /// s = min(long / max(h, w), short / min(h, w)); nh = int(h·s + 0.5), nw = int(w·s + 0.5).
    package static func resizedSize(height h: Int, width w: Int, shortSide: Int, longSide: Int) -> (Int, Int) {
        let s = min(Double(longSide) / Double(max(h, w)), Double(shortSide) / Double(min(h, w)))
        return (max(1, Int(Double(h) * s + 0.5)), max(1, Int(Double(w) * s + 0.5)))
    }

    /// Bilinear resize (align_corners = false, no antialias) on float values, then (x - mean) / std, then whole
    /// patches: zero padding at the bottom and right (after normalisation, so padding is 0), or the remainder cut.
    init(_ image: RGBImage, shortSide: Int, longSide: Int, patch: Int, statistics: PixelStatistics, rounding: PatchRounding = .padUp) {
        (height, width) = (image.height, image.width)
        (resizedHeight, resizedWidth) = Self.resizedSize(height: height, width: width, shortSide: shortSide, longSide: longSide)
        self.patch = patch
        ((inputHeight, top), (inputWidth, left)) = (rounding.input(resizedHeight, patch: patch), rounding.input(resizedWidth, patch: patch))
        let plane = inputHeight * inputWidth
        var planes = [Float](repeating: 0, count: 3 * plane)
        let ys = Resample.linearTaps(from: height, to: resizedHeight).prefix(inputHeight - top)
        let xs = Resample.linearTaps(from: width, to: resizedWidth).prefix(inputWidth - left)
        let origin = top * inputWidth + left
        let mean = [statistics.mean.0, statistics.mean.1, statistics.mean.2]
        let inverseStd = [1 / statistics.std.0, 1 / statistics.std.1, 1 / statistics.std.2]
        let (w, pw) = (width, inputWidth)
        image.pixels.withUnsafeBufferPointer { src in
            for (oy, ty) in ys.enumerated() {
                let row0 = ty.i0 * w * 3, row1 = ty.i1 * w * 3
                for (ox, tx) in xs.enumerated() {
                    for c in 0..<3 {
                        let a = Float(src[row0 + tx.i0 * 3 + c]), b = Float(src[row0 + tx.i1 * 3 + c])
                        let d = Float(src[row1 + tx.i0 * 3 + c]), e = Float(src[row1 + tx.i1 * 3 + c])
                        let value = ty.w0 * (tx.w0 * a + tx.w1 * b) + ty.w1 * (tx.w0 * d + tx.w1 * e)
                        planes[c * plane + origin + oy * pw + ox] = (value - mean[c]) * inverseStd[c]
                    }
                }
            }
        }
        self.planes = planes
    }

    /// Rows y..<y+h and columns x..<x+w of this image (rounded `.asResized`), made whole patches `rounding`'s way:
    /// a sliding window, which the tower sees as an image of its own.
    func window(y: Int, x: Int, height h: Int, width w: Int, rounding: PatchRounding) -> PreparedImage {
        precondition(inputHeight == resizedHeight && inputWidth == resizedWidth, "windows are cut from an image rounded .asResized")
        let ((ih, top), (iw, left)) = (rounding.input(h, patch: patch), rounding.input(w, patch: patch))
        var out = [Float](repeating: 0, count: 3 * ih * iw)
        let (rows, cols) = (min(h, ih - top), min(w, iw - left))
        for c in 0..<3 {
            for r in 0..<rows {
                let src = c * inputHeight * inputWidth + (y + r) * inputWidth + x
                let dst = c * ih * iw + (top + r) * iw + left
                out.replaceSubrange(dst..<dst + cols, with: planes[src..<src + cols])
            }
        }
        return PreparedImage(height: h, width: w, resizedHeight: h, resizedWidth: w, inputHeight: ih, inputWidth: iw,
                             top: top, left: left, patch: patch, planes: out)
    }

    private init(height: Int, width: Int, resizedHeight: Int, resizedWidth: Int, inputHeight: Int, inputWidth: Int,
                 top: Int, left: Int, patch: Int, planes: [Float]) {
        (self.height, self.width, self.resizedHeight, self.resizedWidth) = (height, width, resizedHeight, resizedWidth)
        (self.inputHeight, self.inputWidth, self.top, self.left, self.patch) = (inputHeight, inputWidth, top, left, patch)
        self.planes = planes
    }

    /// im2col for the patch convolution: row (py·gw + px) holds the patch's pixels in the conv weight's
    /// [3, P, P] order, so tokens = patches · Wᵀ.
    func patches() -> Matrix {
        let (p, gh, gw) = (patch, gridHeight, gridWidth)
        let plane = inputHeight * inputWidth
        var m = Matrix(rows: gh * gw, cols: 3 * p * p)
        for py in 0..<gh {
            for px in 0..<gw {
                let row = (py * gw + px) * 3 * p * p
                for c in 0..<3 {
                    for ky in 0..<p {
                        let src = c * plane + (py * p + ky) * inputWidth + px * p
                        let dst = row + (c * p + ky) * p
                        m.data.replaceSubrange(dst..<dst + p, with: planes[src..<src + p])
                    }
                }
            }
        }
        return m
    }
}
