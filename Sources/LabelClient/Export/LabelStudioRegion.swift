import Inference

/// One class of a label map as a Label Studio brush region (`brushlabels`, its mask in Label Studio's RLE): what
/// `export --format label-studio` writes as pre-annotations and the ML backend answers `/predict` with.
public struct LabelStudioRegion: Codable, Sendable, Equatable {
    public struct Value: Codable, Sendable, Equatable {
        public var format = "rle"
        public var rle: [UInt8]
        public var brushlabels: [String]
    }

    public var id: String
    public var type = "brushlabels"
    public var from_name: String
    public var to_name: String
    public var original_width: Int
    public var original_height: Int
    public var image_rotation = 0
    public var value: Value

    /// A region per class present in `map` (void excluded), in class order; `from`/`to` are the label config's
    /// `<BrushLabels name>` and `toName`, ids `<idPrefix>-<class index>`.
    public static func regions(_ map: LabelMap, classes: [String], from: String = "label", to: String = "image",
                               idPrefix: String) -> [LabelStudioRegion] {
        ClassExtents(map).present(classCount: classes.count).map { c in
            LabelStudioRegion(id: "\(idPrefix)-\(c)", from_name: from, to_name: to, original_width: map.width, original_height: map.height,
                              value: Value(rle: SegmentationRLE.labelStudio(map, index: UInt8(c)), brushlabels: [classes[c]]))
        }
    }
}
