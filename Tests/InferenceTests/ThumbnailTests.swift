import Testing

import Inference

/// The gallery thumbnails workers upload: shrunk with a box filter, encoded as JPEG.
@Suite struct ThumbnailTests {
    /// Left half red, right half blue.
    static func halves(width: Int, height: Int) -> RGBImage {
        var pixels = [UInt8]()
        for _ in 0..<height {
            for x in 0..<width { pixels += x < width / 2 ? [255, 0, 0] : [0, 0, 255] }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    @Test func aThumbnailKeepsTheAspectAndAveragesWhatItCovers() {
        let image = Self.halves(width: 1000, height: 500)
        let thumbnail = image.thumbnail(maxSide: 256)
        #expect(thumbnail.width == 256 && thumbnail.height == 128)
        func pixel(_ x: Int, _ y: Int) -> [UInt8] { Array(thumbnail.pixels[(y * 256 + x) * 3..<(y * 256 + x) * 3 + 3]) }
        #expect(pixel(0, 0) == [255, 0, 0] && pixel(255, 127) == [0, 0, 255])
        // Output column 127 covers source 496.09..500.0 (red) and 128 covers 500.0..503.9 (blue): the edge stays sharp.
        #expect(pixel(127, 60) == [255, 0, 0] && pixel(128, 60) == [0, 0, 255])
        // 3 px → 2 px: the middle source pixel is split half and half between the two outputs.
        let three = RGBImage(width: 3, height: 1, pixels: [0, 0, 0, 90, 90, 90, 180, 180, 180]).thumbnail(maxSide: 2)
        #expect(three.width == 2 && three.height == 1 && three.pixels == [30, 30, 30, 150, 150, 150])
        // An image that fits is itself.
        #expect(Self.halves(width: 20, height: 10).thumbnail(maxSide: 256) == Self.halves(width: 20, height: 10))
    }

    @Test func aThumbnailJPEGDecodesToNearlyTheSamePixels() throws {
        let thumbnail = Self.halves(width: 640, height: 480).thumbnail(maxSide: 256)
        let jpeg = try ImageCodec.encodeJPEG(thumbnail, quality: 80)
        #expect(try ImageFormat(sniffing: jpeg) == .jpeg)
        #expect(jpeg.count < 16 << 10, "\(jpeg.count) bytes")
        let decoded = try ImageCodec.decode(jpeg)
        #expect(decoded.width == 256 && decoded.height == 192)
        let error = zip(decoded.pixels, thumbnail.pixels).map { abs(Int($0) - Int($1)) }.reduce(0, +) / decoded.pixels.count
        #expect(error < 4, "mean absolute error \(error)")
        #expect(throws: InferenceError.self) { try ImageCodec.encodeJPEG(thumbnail, quality: 0) }
    }
}
