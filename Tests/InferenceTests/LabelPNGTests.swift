import Foundation
import Testing

import Inference

@Suite("Label PNG and palette")
struct LabelPNGTests {
    /// PIL-written label PNGs (8-bit palette, 4-bit palette, 8-bit gray) give PIL's raw indices.
    @Test(arguments: ["label_voc.png", "label_4bit.png", "label_gray.png"])
    func decodesIndicesLikePIL(name: String) throws {
        let map = try ImageCodec.decodeLabelPNG(try ImageFixture.bytes(name))
        #expect(map.width == 23 && map.height == 17)
        #expect(map.indices == (try ImageFixture.expected(name, suffix: "idx")))
    }

    @Test func roundTripKeepsEveryIndex() throws {
        var rng = ImageTestRNG(state: 7)
        let (width, height) = (61, 19)
        var indices = (0..<(width * height)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        indices.replaceSubrange(0..<256, with: (0...255).map(UInt8.init))
        let map = LabelMap(width: width, height: height, indices: indices)
        let png = try ImageCodec.encodeLabelPNG(map)
        #expect(try ImageCodec.decodeLabelPNG(png) == map)
        // IHDR: 8-bit palette; PLTE right after it with all 256 entries.
        #expect(png[24] == 8 && png[25] == 3)
        #expect(Array(png[33..<41]) == [0x00, 0x00, 0x03, 0x00] + Array("PLTE".utf8))
        // Viewed as a picture, every pixel shows its VOC colour.
        let rgb = try ImageCodec.decode(png)
        for (i, index) in indices.enumerated() {
            let (r, g, b) = LabelPalette.voc.colors[Int(index)]
            #expect(Array(rgb.pixels[(3 * i)..<(3 * i + 3)]) == [r, g, b])
        }
    }

    @Test func flatMapsCompressSmall() throws {
        var map = LabelMap(width: 512, height: 512, indices: [UInt8](repeating: 0, count: 512 * 512))
        for y in 100..<300 { for x in 50..<400 { map.indices[y * 512 + x] = 15 } }
        let png = try ImageCodec.encodeLabelPNG(map)
        #expect(png.count < 4096, "\(png.count) bytes")
        #expect(try ImageCodec.decodeLabelPNG(png) == map)
    }

    @Test func rejectsWhatIsNotALabelMap() throws {
        let rgb = try #require(throws: InferenceError.self) {
            try ImageCodec.decodeLabelPNG(try ImageFixture.bytes("rgb.png"))
        }
        #expect(rgb.code == .badImage && rgb.message.contains("palette or grayscale"))
        #expect(throws: InferenceError(.badImage, "a label map must be a PNG, got a JPEG")) {
            try ImageCodec.decodeLabelPNG(try ImageFixture.bytes("baseline.jpg"))
        }
        let gray16 = try #require(throws: InferenceError.self) {
            try ImageCodec.decodeLabelPNG(try ImageFixture.bytes("gray16.png"))
        }
        #expect(gray16.code == .badImage)
        let bomb = try #require(throws: InferenceError.self) {
            try ImageCodec.decodeLabelPNG(try ImageFixture.bytes("bomb.png"))
        }
        #expect(bomb.code == .imageTooLarge)
    }

    @Test func encoderChecksIndexCount() {
        var map = LabelMap(width: 3, height: 2, indices: [0, 1, 2, 3, 4, 5])
        map.indices.append(6)
        #expect(throws: InferenceError(.badArgument, "label map is 3x2 but has 7 indices")) {
            try ImageCodec.encodeLabelPNG(map)
        }
    }

    @Test func vocPalette() {
        let voc = LabelPalette.voc
        #expect(voc.colors.count == 256)
        #expect(voc.hex(0) == "#000000")
        #expect(voc.hex(1) == "#800000")
        #expect(voc.hex(2) == "#008000")
        #expect(voc.hex(15) == "#c08080")  // person
        #expect(voc.hex(20) == "#004080")  // tvmonitor
        #expect(voc.hex(255) == "#e0e0c0")
    }
}
