import Testing

import Inference

/// Decoding must never crash: every malformed input is an `InferenceError`, never a trap or a hang.
@Suite("ImageCodec fuzzing")
struct ImageCodecFuzzTests {
    static let seeds = ["rgb.png", "rgba.png", "palette_trns.png", "interlaced.png", "gray16.png", "gray1.png",
                        "baseline.jpg", "progressive.jpg", "grayscale.jpg", "cmyk.jpg", "label_4bit.png"]

    /// Small limit: a corrupted JPEG header may claim large but legal dimensions.
    static let limit = 200_000

    @Test(arguments: seeds)
    func everyTruncation(name: String) throws {
        let bytes = try ImageFixture.bytes(name)
        for length in 0..<bytes.count { survive(Array(bytes.prefix(length))) }
    }

    @Test(arguments: seeds)
    func randomCorruption(name: String) throws {
        let bytes = try ImageFixture.bytes(name)
        var rng = ImageTestRNG(state: UInt64(name.utf8.count) &* 7919 &+ UInt64(bytes.count))
        for _ in 0..<300 {
            var mutated = bytes
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let position = Int.random(in: 0..<mutated.count, using: &rng)
                mutated[position] = UInt8.random(in: 0...255, using: &rng)
            }
            survive(mutated)
        }
    }

    @Test func randomBytesAfterAValidSignature() {
        var rng = ImageTestRNG(state: 42)
        let signatures: [[UInt8]] = [[0xFF, 0xD8, 0xFF], [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], []]
        for round in 0..<600 {
            let tail = (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            survive(signatures[round % 3] + tail)
        }
    }

    private func survive(_ bytes: [UInt8]) {
        do {
            let image = try ImageCodec.decode(bytes, maxPixels: Self.limit)
            #expect(image.pixels.count == image.width * image.height * 3)
        } catch {
            #expect(error is InferenceError)
        }
        _ = try? ImageCodec.dimensions(bytes)
        _ = try? ImageCodec.decodeLabelPNG(bytes, maxPixels: Self.limit)
    }
}
