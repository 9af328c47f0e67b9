import Foundation
import Testing
import Inference

/// An image that would need more memory than the process may still take fails alone, with the figures, instead
/// of aborting the process in an allocation.
@Suite struct MemoryGuardTests {
    static func maskCLIP(shortSide: Int, longSide: Int) throws -> MaskCLIP {
        let model = try TestFixtures.tinyModel.get()
        let classes = try ClassEmbeddings.compute(model: model, classNames: TestFixtures.classNames, templates: .named("single"),
                                                  modelSHA256: "test")
        return try MaskCLIP(model: model, classes: classes, options: MaskCLIPOptions(shortSide: shortSide, longSide: longSide))
    }

    @Test func anImageThatDoesNotFitFailsWithTheFigures() throws {
        let image = try TestFixtures.goldenImage("img_a.png")
        let small = try Self.maskCLIP(shortSide: 48, longSide: 2048)
        let needed = small.memoryEstimate(height: image.height, width: image.width)
        #expect(try small.label(image, available: needed * 2).width == image.width)
        let error = try #require(throws: InferenceError.self) { _ = try small.label(image, available: needed - 1) }
        #expect(error.code == .imageTooLarge)
        #expect(error.message.contains("GiB are available") && error.message.contains("shortSide"), "\(error.message)")
    }

    /// The estimate grows with the square of the tokens: the attention scores of one head dominate large images.
    @Test func theEstimateIsQuadraticInTheTokens() throws {
        let large = try Self.maskCLIP(shortSide: 2048, longSide: 4096)
        let side = large.memoryEstimate(height: 4096, width: 4096)
        let half = large.memoryEstimate(height: 2048, width: 2048)
        let tokens = (2048 / 16) * (2048 / 16) + 1
        #expect(side >= 4 * tokens * tokens)  // one head's N×N scores at 4 bytes
        #expect(Double(side) / Double(half) > 1.0)  // both resize to 2048 short side: the same estimate but for the label map
        let quarter = try Self.maskCLIP(shortSide: 1024, longSide: 4096).memoryEstimate(height: 4096, width: 4096)
        #expect(Double(side) / Double(quarter) > 8)  // 4x the tokens: ~16x the scores, 4x the rest
    }

    @Test func availableMemoryIsReadFromTheSystem() {
        let available = SystemMemory.available()
        #expect(available != nil && available! > 0)
    }
}
