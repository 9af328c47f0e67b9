import Foundation
import Inference
import LabelAPI
import Support

/// The layouts `labelmill export --format` writes. Each is read by the tool named, and checked with that tool's own
/// reader (scripts/check-exports).
public enum ExportFormat: String, CaseIterable, Sendable {
    /// labels/<id>.png, classes.json, results.jsonl.
    case labelmill
    /// mmsegmentation's custom dataset: img_dir/train, ann_dir/train, a split file, dataset.py.
    case mmseg
    /// COCO-Stuff style: annotations.json with one RLE segmentation per class per image, images/.
    case coco
    /// Label Studio tasks with the labels as brush pre-annotations, and the labeling config to paste.
    case labelStudio = "label-studio"
    /// CVAT's "Segmentation mask 1.1" (PASCAL VOC segmentation) layout.
    case cvat
    /// A folder Hugging Face `datasets.load_dataset` reads: image and label columns, id2label.json.
    case hf

    /// Whether the export holds copies of the images (fetched by the exporting machine).
    var copiesImages: Bool { self != .labelmill && self != .labelStudio }

    /// Why this format cannot carry the class `name`, or nil when it can. Said at submit (`cannotCarry`), where
    /// the name can still change, and refused at export.
    public func problem(withClass name: String) -> String? {
        guard self == .cvat else { return nil }
        if name == "background" { return "CVAT gives unlabeled pixels the name \"background\"" }
        if name.contains(":") || name.contains("#") { return "CVAT's labelmap.txt cannot hold a ':' or a '#' in a name" }
        return nil
    }

    /// Each export format that cannot carry one of `classes`, with the class and why: a note for `submit` and `run`,
    /// whose export format is not known yet.
    public static func cannotCarry(_ classes: [String]) -> [String] {
        allCases.flatMap { format in
            classes.compactMap { name in format.problem(withClass: name).map { "class \"\(name)\" cannot be exported as \(format.rawValue): \($0)" } }
        }
    }
}

/// One labeled image as the writers get it.
struct ExportItem {
    var id: String
    var uri: String
    /// The label map PNG as the coordinator stores it (VOC palette, 255 = void).
    var labelPNG: [UInt8]
    /// Its indices, decoded for the formats that re-encode them (layouts that copy the PNG never decode it).
    var label: LabelMap { get throws { try ImageCodec.decodeLabelPNG(labelPNG) } }
    /// The image's bytes and extension ("jpg" or "png"), for formats that copy images.
    var image: (bytes: [UInt8], fileExtension: String)?
}

/// An export's files: each written atomically (never torn under its name), not fsynced one by one, as an export is
/// many small files; `JobExport` makes them durable with one sync at the end.
enum ExportFile {
    static func write(_ bytes: [UInt8], to path: String) throws(FileError) {
        try AtomicFile.write(bytes, to: path, durable: false)
    }
}

/// Writes one export format a labeled image at a time; `finish` completes the files that span every image.
protocol ExportWriter {
    mutating func add(_ item: ExportItem) throws
    mutating func finish() throws
}

enum ExportJSON {
    static func encode(_ value: some Encodable) throws -> Data {
        let encoder = WireJSON.encoder()
        return try encoder.encode(value)
    }

    static func string(_ value: some Encodable) throws -> String { String(decoding: try encode(value), as: UTF8.self) }
}

/// What a label map holds per class: pixel count and bounding box.
struct ClassExtents {
    var area = [Int](repeating: 0, count: 256)
    var minX = [Int](repeating: .max, count: 256)
    var minY = [Int](repeating: .max, count: 256)
    var maxX = [Int](repeating: -1, count: 256)
    var maxY = [Int](repeating: -1, count: 256)

    init(_ map: LabelMap) {
        map.indices.withUnsafeBufferPointer { pixels in
            for y in 0..<map.height {
                for x in 0..<map.width {
                    let c = Int(pixels[y * map.width + x])
                    area[c] += 1
                    if x < minX[c] { minX[c] = x }
                    if x > maxX[c] { maxX[c] = x }
                    if y < minY[c] { minY[c] = y }
                    if y > maxY[c] { maxY[c] = y }
                }
            }
        }
    }

    /// The classes present (void excluded), in index order.
    func present(classCount: Int) -> [Int] { (0..<min(classCount, 255)).filter { area[$0] > 0 } }

    /// COCO's [x, y, width, height].
    func bbox(_ c: Int) -> [Int] { [minX[c], minY[c], maxX[c] - minX[c] + 1, maxY[c] - minY[c] + 1] }
}
