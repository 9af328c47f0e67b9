import Foundation
import Testing

import Inference

@Suite("ImageCodec decoding")
struct ImageCodecTests {
    /// Every layout must give exactly PIL's `convert("RGB")` bytes (gray16: the high byte, see the script).
    @Test(arguments: [
        ("rgb.png", 13, 7), ("rgba.png", 13, 7), ("gray.png", 11, 9), ("gray_alpha.png", 11, 9),
        ("gray1.png", 10, 6), ("palette_trns.png", 12, 8), ("rgb16.png", 7, 5), ("gray16.png", 7, 5),
        ("interlaced.png", 17, 11), ("one_by_one.png", 1, 1),
        ("baseline.jpg", 37, 29), ("corrupt_segment.jpg", 37, 29), ("progressive.jpg", 37, 29), ("grayscale.jpg", 37, 29), ("cmyk.jpg", 27, 21),
    ])
    func decodesLikePIL(name: String, width: Int, height: Int) throws {
        let image = try ImageCodec.read(contentsOf: try ImageFixture.path(name))
        let expected = try ImageFixture.expected(name, suffix: "rgb")
        #expect(image.width == width && image.height == height)
        #expect(image.pixels.count == expected.count)
        let maxDiff = zip(image.pixels, expected).map { abs(Int($0) - Int($1)) }.max() ?? 0
        #expect(maxDiff == 0, "\(name) differs from PIL by up to \(maxDiff)")
        let size = try ImageCodec.dimensions(try ImageFixture.bytes(name))
        #expect(size.width == width && size.height == height)
    }

    @Test(arguments: [
        ("truncated.jpg", InferenceError.Code.badImage, "Premature end of JPEG file"),
        ("truncated.png", .badImage, "truncated"),
        ("bad_crc.png", .badImage, "IHDR: CRC error"),
        ("empty.png", .badImage, "is empty"),
        ("text.jpg", .badImage, "not a JPEG or PNG image: text"),
        ("bomb.png", .imageTooLarge, "60000x60000 (3600000000 pixels), over the limit of 100000000"),
    ])
    func rejectsBadFiles(name: String, code: InferenceError.Code, fragment: String) throws {
        let path = try ImageFixture.path(name)
        let error = try #require(throws: InferenceError.self) { try ImageCodec.read(contentsOf: path) }
        #expect(error.code == code)
        #expect(error.message.contains(fragment), "\(error.message)")
        #expect(error.message.contains(path))
    }

    @Test func bombHeaderIsReadButNeverDecoded() throws {
        let bomb = try ImageFixture.bytes("bomb.png")
        let size = try ImageCodec.dimensions(bomb)
        #expect(size.width == 60000 && size.height == 60000)
        // 10.8 GB of RGB would be needed; the limit refuses before any pixel memory exists.
        #expect(throws: InferenceError(.imageTooLarge, "PNG image is 60000x60000 (3600000000 pixels), over the limit of 100000000 pixels")) {
            try ImageCodec.decode(bomb)
        }
    }

    @Test func limitIsInclusive() throws {
        let png = try ImageFixture.bytes("rgb.png")  // 13x7 = 91 pixels
        #expect(try ImageCodec.decode(png, maxPixels: 91).width == 13)
        #expect(throws: InferenceError.self) { try ImageCodec.decode(png, maxPixels: 90) }
        let jpeg = try ImageFixture.bytes("baseline.jpg")  // 37x29 = 1073 pixels
        let error = try #require(throws: InferenceError.self) { try ImageCodec.decode(jpeg, maxPixels: 1072) }
        #expect(error.code == .imageTooLarge && error.message.contains("JPEG image is 37x29"))
        #expect(throws: InferenceError(.badArgument, "maxPixels must be positive, got 0")) {
            try ImageCodec.decode(png, maxPixels: 0)
        }
    }

    @Test func missingFileAndDirectoryAreIOErrors() throws {
        let directory = try ImageFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        defer { try? FileManager.default.removeItem(at: directory) }
        let missing = directory.appendingPathComponent("nope.jpg").path
        let error = try #require(throws: InferenceError.self) { try ImageCodec.read(contentsOf: missing) }
        #expect(error.code == .io && error.message.contains(missing) && error.message.contains("no such file"))
        let notFile = try #require(throws: InferenceError.self) { try ImageCodec.read(contentsOf: directory.path) }
        #expect(notFile.code == .io && notFile.message.contains("directory"))
    }

    @Test func formatComesFromBytesNotExtension() throws {
        let directory = try ImageFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        defer { try? FileManager.default.removeItem(at: directory) }
        let misnamed = directory.appendingPathComponent("actually-a-png.jpg")
        try Data(try ImageFixture.bytes("rgb.png")).write(to: misnamed)
        let image = try ImageCodec.read(contentsOf: misnamed.path)
        #expect(image.pixels == (try ImageFixture.expected("rgb.png", suffix: "rgb")))
    }

    /// Other data is named by what it looks like, and none of its bytes reach the message (it may be any file the
    /// worker can read).
    @Test(arguments: [
        ("GIF89a\u{1}\u{0}", "a GIF image"), ("RIFF\u{0}\u{0}\u{0}\u{0}WEBPVP8 ", "a WebP image"), ("%PDF-1.7 secret", "a PDF document"),
        ("<!DOCTYPE html><title>404</title>", "an HTML page"), ("TOPSECRET password=hunter2", "text"),
        ("{\"error\": \"no\"}", "JSON text"), ("\u{0}\u{1}\u{2}\u{3}\u{FF}", "data of an unknown format"),
    ])
    func otherDataIsNamedNotShown(_ content: String, kind: String) throws {
        let error = try #require(throws: InferenceError.self) { try ImageCodec.decode(Array(content.utf8)) }
        #expect(error.message.hasPrefix("not a JPEG or PNG image: \(kind)"), "\(error.message)")
        #expect(!error.message.contains("secret") && !error.message.contains("hunter2") && !error.message.contains("54 4f"))
    }

    @Test func emptyAndShortInputs() {
        #expect(throws: InferenceError(.badImage, "not a JPEG or PNG image: the data is empty")) {
            try ImageCodec.decode([])
        }
        for prefix: [UInt8] in [[0xFF, 0xD8, 0xFF], [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]] {
            #expect(throws: InferenceError.self) { try ImageCodec.decode(prefix) }
            #expect(throws: InferenceError.self) { try ImageCodec.dimensions(prefix) }
        }
    }
}
