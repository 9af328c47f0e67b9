/// The resampling torch's `F.interpolate(..., align_corners=False)` does, size-based (scale = in / out):
/// bilinear for images and score maps, bicubic (A = -0.75, border taps clamped) for position embeddings.
package enum Resample {
    /// One output coordinate of a bilinear resize: the two source indices and their weights.
    package struct LinearTap {
        package let i0: Int, i1: Int
        package let w0: Float, w1: Float
    }

    /// src = (dst + 0.5)·in/out - 0.5, clamped at 0; the second tap is clamped at the last index.
    package static func linearTaps(from input: Int, to output: Int) -> [LinearTap] {
        let scale = Float(input) / Float(output)
        return (0..<output).map { dst in
            let src = max(scale * (Float(dst) + 0.5) - 0.5, 0)
            let i0 = Int(src)
            let i1 = i0 + (i0 < input - 1 ? 1 : 0)
            let w1 = src - Float(i0)
            return LinearTap(i0: i0, i1: i1, w0: 1 - w1, w1: w1)
        }
    }

    /// One output coordinate of a bicubic resize: four clamped source indices and their weights.
    struct CubicTap {
        let index: (Int, Int, Int, Int)
        let weight: (Float, Float, Float, Float)
    }

    /// `scale` is input / output unless given: torch's `scale_factor=` resize samples with 1 / the factor it was
    /// given, which the newer dense modes' code passes as (g + 0.1) / G.
    static func cubicTaps(from input: Int, to output: Int, scale given: Float? = nil) -> [CubicTap] {
        let a: Float = -0.75
        func near(_ x: Float) -> Float { ((a + 2) * x - (a + 3)) * x * x + 1 }        // |x| <= 1
        func far(_ x: Float) -> Float { ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }  // 1 < |x| < 2
        let scale = given ?? Float(input) / Float(output)
        return (0..<output).map { dst in
            let src = scale * (Float(dst) + 0.5) - 0.5  // not clamped for cubic
            let base = Int(src.rounded(.down))
            let t = src - Float(base)
            func clamp(_ i: Int) -> Int { min(max(i, 0), input - 1) }
            return CubicTap(index: (clamp(base - 1), clamp(base), clamp(base + 1), clamp(base + 2)),
                            weight: (far(t + 1), near(t), near(1 - t), far(2 - t)))
        }
    }

    /// Bilinear resize (align_corners = false) of a channels-last grid [height, width, channels].
    static func bilinear(_ grid: UnsafeBufferPointer<Float>, height: Int, width: Int, channels k: Int,
                         toHeight: Int, toWidth: Int) -> [Float] {
        let ys = linearTaps(from: height, to: toHeight), xs = linearTaps(from: width, to: toWidth)
        var out = [Float](repeating: 0, count: toHeight * toWidth * k)
        for (oy, ty) in ys.enumerated() {
            for (ox, tx) in xs.enumerated() {
                let a = (ty.i0 * width + tx.i0) * k, b = (ty.i0 * width + tx.i1) * k
                let c = (ty.i1 * width + tx.i0) * k, d = (ty.i1 * width + tx.i1) * k
                let base = (oy * toWidth + ox) * k
                for j in 0..<k {
                    out[base + j] = ty.w0 * (tx.w0 * grid[a + j] + tx.w1 * grid[b + j]) + ty.w1 * (tx.w0 * grid[c + j] + tx.w1 * grid[d + j])
                }
            }
        }
        return out
    }

    /// Bicubic resize of a channels-last grid [height, width, channels] to [toHeight, toWidth, channels].
    static func bicubic(_ grid: UnsafeBufferPointer<Float>, height: Int, width: Int, channels: Int,
                        toHeight: Int, toWidth: Int, scales: (y: Float, x: Float)? = nil) -> [Float] {
        let ys = cubicTaps(from: height, to: toHeight, scale: scales?.y)
        let xs = cubicTaps(from: width, to: toWidth, scale: scales?.x)
        var out = [Float](repeating: 0, count: toHeight * toWidth * channels)
        func at(_ y: Int, _ x: Int, _ c: Int) -> Float { grid[(y * width + x) * channels + c] }
        for (oy, ty) in ys.enumerated() {
            let rows = [ty.index.0, ty.index.1, ty.index.2, ty.index.3]
            let wy = [ty.weight.0, ty.weight.1, ty.weight.2, ty.weight.3]
            for (ox, tx) in xs.enumerated() {
                let base = (oy * toWidth + ox) * channels
                for c in 0..<channels {
                    var sum: Float = 0
                    for k in 0..<4 {
                        let y = rows[k]
                        let across = at(y, tx.index.0, c) * tx.weight.0 + at(y, tx.index.1, c) * tx.weight.1
                            + at(y, tx.index.2, c) * tx.weight.2 + at(y, tx.index.3, c) * tx.weight.3
                        sum += across * wy[k]
                    }
                    out[base + c] = sum
                }
            }
        }
        return out
    }
}
