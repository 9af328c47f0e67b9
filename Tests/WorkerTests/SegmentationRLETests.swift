import Inference
import Testing
import LabelClient

/// The encoders against values pycocotools and label-studio-sdk produced for the same masks (their encoders, run
/// once by hand; scripts/check-exports decodes whole exports with their decoders).
struct SegmentationRLETests {
    /// The label map [[0,0,1],[0,2,1],[255,2,2],[255,255,1]]: a void pixel, every class present.
    let map = LabelMap(width: 3, height: 4, indices: [0, 0, 1, 0, 2, 1, 255, 2, 2, 255, 255, 1])

    @Test func cocoMatchesPycocotools() {
        #expect(SegmentationRLE.cocoString(SegmentationRLE.cocoCounts(map, index: 0)) == "022O5")
        #expect(SegmentationRLE.cocoString(SegmentationRLE.cocoCounts(map, index: 1)) == "821O")
        #expect(SegmentationRLE.cocoString(SegmentationRLE.cocoCounts(map, index: 2)) == "523ON")
        // Counts with large runs and negative differences: 40x60 with a 25x40 block and two single pixels.
        var block = [UInt8](repeating: 0, count: 40 * 60)
        for y in 5..<30 { for x in 10..<50 { block[y * 60 + x] = 1 } }
        block[0] = 1
        block[39 * 60 + 59] = 1
        let counts = SegmentationRLE.cocoCounts(LabelMap(width: 60, height: 40, indices: block), index: 1)
        #expect(counts.prefix(5) == [0, 1, 404, 25, 15] && counts.suffix(3) == [25, 409, 1])
        #expect(SegmentationRLE.cocoString(counts) == "01d<h0kC" + String(repeating: "0", count: 77) + "Z<XO")
        #expect(SegmentationRLE.cocoString([1, 1, 1, 2, 1]) == "11110")
        #expect(SegmentationRLE.cocoCounts(LabelMap(width: 2, height: 2, indices: [1, 1, 1, 1]), index: 1) == [0, 4])
    }

    @Test func labelStudioMatchesItsSDK() {
        #expect(SegmentationRLE.labelStudio(map, index: 1) == [0, 0, 0, 48, 57, 27, 252, 224, 17, 255, 206, 1, 31, 254, 19, 0, 143, 252])
        let small = LabelMap(width: 3, height: 2, indices: [0, 1, 1, 0, 0, 1])
        #expect(SegmentationRLE.labelStudio(small, index: 1) == [0, 0, 0, 24, 57, 27, 252, 96, 19, 255, 206, 1, 31, 248])
        #expect(SegmentationRLE.labelStudio(LabelMap(width: 2, height: 1, indices: [0, 0]), index: 1) == [0, 0, 0, 8, 57, 27, 252, 224, 0])
        // Runs longer than 65536 values split into chunks.
        let half = LabelMap(width: 100, height: 200, indices: [UInt8](repeating: 0, count: 10_000) + [UInt8](repeating: 1, count: 10_000))
        #expect(SegmentationRLE.labelStudio(half, index: 1) == [0, 1, 56, 128, 57, 27, 255, 156, 63, 0, 243, 135, 255, 224])
    }
}
