import Foundation
import Inference
import Support

/// labels/<id>.png: the label maps as the coordinator stores them.
struct LabelmillWriter: ExportWriter {
    let directory: URL

    func add(_ item: ExportItem) throws {
        try ExportFile.write(item.labelPNG, to: directory.appendingPathComponent("labels/\(item.id).png").path)
    }

    func finish() throws {}
}

/// mmsegmentation: img_dir/train/<id>.<ext>, ann_dir/train/<id>.png (indices, 255 ignored), splits/train.txt and
/// dataset.py, a config to include. JPEG and PNG images keep their bytes; as mmseg finds a map by swapping one image
/// suffix for `.png`, each suffix gets its own split file and dataset (joined with ConcatDataset).
struct MMSegWriter: ExportWriter {
    let directory: URL
    let classes: [String]
    private let all: StreamFile
    private var bySuffix: [String: StreamFile] = [:]

    init(directory: URL, classes: [String]) throws {
        self.directory = directory
        self.classes = classes
        all = try StreamFile(directory.appendingPathComponent("splits/train.txt").path)
    }

    mutating func add(_ item: ExportItem) throws {
        guard let image = item.image else { return }
        try ExportFile.write(image.bytes, to: directory.appendingPathComponent("img_dir/train/\(item.id).\(image.fileExtension)").path)
        try ExportFile.write(item.labelPNG, to: directory.appendingPathComponent("ann_dir/train/\(item.id).png").path)
        try all.write(item.id + "\n")
        if bySuffix[image.fileExtension] == nil {
            bySuffix[image.fileExtension] = try StreamFile(directory.appendingPathComponent("splits/train-\(image.fileExtension).txt").path)
        }
        try bySuffix[image.fileExtension]!.write(item.id + "\n")
    }

    func finish() throws {
        try all.close()
        for file in bySuffix.values { try file.close() }
        let names = try ExportJSON.string(classes)
        let palette = (0..<classes.count).map { c in
            let (r, g, b) = LabelPalette.voc.colors[c]
            return "[\(r), \(g), \(b)]"
        }.joined(separator: ", ")
        let datasets = bySuffix.keys.sorted().map { suffix in
            """
                dict(type='BaseSegDataset', data_root=data_root, metainfo=metainfo, img_suffix='.\(suffix)',
                     seg_map_suffix='.png', reduce_zero_label=False, ignore_index=255, ann_file='splits/train-\(suffix).txt',
                     data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'), pipeline=train_pipeline),
            """
        }.joined(separator: "\n")
        let config = """
            # A dataset written by `labelmill export --format mmseg`, to include from an mmsegmentation config.
            # img_dir/train/<id>.jpg|.png are the images, ann_dir/train/<id>.png the label maps: one byte per pixel,
            # the class index (0 is a class, so reduce_zero_label=False), 255 where no class applies (ignore_index).
            # splits/train.txt lists every image; splits/train-<suffix>.txt those with that suffix.
            import os.path as osp

            data_root = osp.dirname(osp.abspath(__file__))
            metainfo = dict(classes=tuple(\(names)),
                            palette=[\(palette)])
            num_classes = \(classes.count)
            train_pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'), dict(type='PackSegInputs')]
            train_dataset = dict(type='ConcatDataset', datasets=[
            \(datasets)
            ])

            """
        try ExportFile.write([UInt8](config.utf8), to: directory.appendingPathComponent("dataset.py").path)
    }
}

/// COCO-Stuff style annotations.json: an image entry per image (file_name under images/), one annotation per class
/// present with its mask as a compressed RLE string, area and bbox, `iscrowd` 0 as COCO-Stuff writes it; categories
/// are the classes with ids from 1. Void pixels belong to no annotation. The images and annotations arrays stream
/// through two temporary files, joined at the end.
struct COCOWriter: ExportWriter {
    let directory: URL
    let classes: [String]
    let job: String
    private let images: StreamFile
    private let annotations: StreamFile
    private var imageCount = 0
    private var annotationCount = 0

    init(directory: URL, classes: [String], job: String) throws {
        self.directory = directory
        self.classes = classes
        self.job = job
        images = try StreamFile(directory.appendingPathComponent(".images.json.part").path)
        annotations = try StreamFile(directory.appendingPathComponent(".annotations.json.part").path)
    }

    private struct Image: Encodable {
        var id: Int
        var file_name: String
        var width: Int
        var height: Int
        var labelmill_id: String
    }

    private struct Annotation: Encodable {
        struct Segmentation: Encodable {
            var size: [Int]
            var counts: String
        }
        var id: Int
        var image_id: Int
        var category_id: Int
        var segmentation: Segmentation
        var area: Int
        var bbox: [Int]
        var iscrowd: Int
    }

    mutating func add(_ item: ExportItem) throws {
        guard let image = item.image else { return }
        let file = "\(item.id).\(image.fileExtension)"
        try ExportFile.write(image.bytes, to: directory.appendingPathComponent("images/\(file)").path)
        imageCount += 1
        let map = try item.label
        try images.write((imageCount > 1 ? ",\n" : "") + ExportJSON.string(
            Image(id: imageCount, file_name: file, width: map.width, height: map.height, labelmill_id: item.id)))
        let extents = ClassExtents(map)
        for c in extents.present(classCount: classes.count) {
            annotationCount += 1
            let counts = SegmentationRLE.cocoString(SegmentationRLE.cocoCounts(map, index: UInt8(c)))
            try annotations.write((annotationCount > 1 ? ",\n" : "") + ExportJSON.string(Annotation(
                id: annotationCount, image_id: imageCount, category_id: c + 1,
                segmentation: .init(size: [map.height, map.width], counts: counts),
                area: extents.area[c], bbox: extents.bbox(c), iscrowd: 0)))
        }
    }

    func finish() throws {
        try images.close()
        try annotations.close()
        let path = directory.appendingPathComponent("annotations.json").path
        let temporary = AtomicFile.temporaryPath(for: path)
        let out = try StreamFile(temporary)
        struct Category: Encodable { var id: Int; var name: String; var supercategory: String }
        let categories = try ExportJSON.string(classes.enumerated().map { Category(id: $0.offset + 1, name: $0.element, supercategory: "labelmill") })
        let info = try ExportJSON.string(["description": "labelmill job \(job)", "version": "1.0"])
        try out.write("{\"info\": \(info),\n\"licenses\": [],\n\"categories\": \(categories),\n\"images\": [\n")
        try out.append(contentsOf: images.path)
        try out.write("\n],\n\"annotations\": [\n")
        try out.append(contentsOf: annotations.path)
        try out.write("\n]}\n")
        try out.close()
        try AtomicFile.commit(temporary, to: path)
        try? FileManager.default.removeItem(atPath: images.path)
        try? FileManager.default.removeItem(atPath: annotations.path)
    }
}

/// Label Studio: tasks.json (a task per image, its labels as brush pre-annotations, one region per class present)
/// and labeling-config.xml to paste into the project. The task's image is its manifest URI (http(s) and s3:// are
/// what Label Studio opens; give `imageBaseURL` to point at copies served elsewhere).
struct LabelStudioWriter: ExportWriter {
    let directory: URL
    let classes: [String]
    let job: String
    let imageBaseURL: String?
    private let tasks: StreamFile
    private var count = 0

    init(directory: URL, classes: [String], job: String, imageBaseURL: String?) throws {
        self.directory = directory
        self.classes = classes
        self.job = job
        self.imageBaseURL = imageBaseURL
        tasks = try StreamFile(directory.appendingPathComponent("tasks.json").path)
        try tasks.write("[\n")
    }

    private struct Task: Encodable {
        var id: Int
        var data: [String: String]
        var predictions: [Prediction]
    }

    private struct Prediction: Encodable {
        var model_version: String
        var result: [LabelStudioRegion]
    }

    mutating func add(_ item: ExportItem) throws {
        count += 1
        let regions = LabelStudioRegion.regions(try item.label, classes: classes, idPrefix: "\(count)")
        let image = imageBaseURL.map { $0 + S3Configuration.encode(item.id, keepingSlashes: false) } ?? item.uri
        let task = Task(id: count, data: ["image": image, "labelmill_id": item.id],
                        predictions: [Prediction(model_version: "labelmill \(job)", result: regions)])
        try tasks.write((count > 1 ? ",\n" : "") + ExportJSON.string(task))
    }

    func finish() throws {
        try tasks.write("\n]\n")
        try tasks.close()
        let labels = classes.enumerated().map { c, name in
            "    <Label value=\"\(MarkupText.escape(name))\" background=\"\(LabelPalette.voc.hex(c))\"/>"
        }.joined(separator: "\n")
        let config = """
            <View>
              <Image name="image" value="$image" zoom="true"/>
              <BrushLabels name="label" toName="image">
            \(labels)
              </BrushLabels>
            </View>

            """
        try ExportFile.write([UInt8](config.utf8), to: directory.appendingPathComponent("labeling-config.xml").path)
    }
}

/// CVAT's "Segmentation mask 1.1" archive, cvat.zip, as CVAT imports it (PASCAL VOC segmentation): labelmap.txt
/// (void first, as `background`, black; class c in VOC colour c + 1), ImageSets/Segmentation/default.txt,
/// SegmentationClass/<id>.png (palette PNGs in those colours), SegmentationObject/<id>.png (one instance per class
/// present) and JPEGImages/<id>.<ext>. The image list streams through a temporary file and goes in last.
package struct CVATWriter: ExportWriter {
    let directory: URL
    let classes: [String]
    private let archive: ZipArchive
    private let list: StreamFile
    private let classPalette: LabelPalette

    package init(directory: URL, classes: [String]) throws {
        for name in classes {
            if let problem = ExportFormat.cvat.problem(withClass: name) {
                throw FileError("export", directory.path, reason: "class \"\(name)\" cannot be exported as cvat: \(problem) (rename it)")
            }
        }
        self.directory = directory
        self.classes = classes
        archive = try ZipArchive(directory.appendingPathComponent("cvat.zip").path)
        list = try StreamFile(directory.appendingPathComponent(".default.txt.part").path)
        var colors = (0..<256).map { LabelPalette.voc.colors[min($0 + 1, 255)] }
        colors[255] = (0, 0, 0)
        classPalette = LabelPalette(colors: colors)
    }

    mutating func add(_ item: ExportItem) throws {
        let map = try item.label
        try archive.add("SegmentationClass/\(item.id).png", try ImageCodec.encodeLabelPNG(map, palette: classPalette))
        // Instance k (from 1) is the k-th class present; 0 (black) is none.
        var instance = [UInt8](repeating: 0, count: 256)
        for (k, c) in ClassExtents(map).present(classCount: classes.count).enumerated() { instance[c] = UInt8(k + 1) }
        let objects = LabelMap(width: map.width, height: map.height, indices: map.indices.map { instance[Int($0)] })
        try archive.add("SegmentationObject/\(item.id).png", try ImageCodec.encodeLabelPNG(objects, palette: .voc))
        if let image = item.image {
            try archive.add("JPEGImages/\(item.id).\(image.fileExtension)", image.bytes)
        }
        try list.write(item.id + "\n")
    }

    func finish() throws {
        try list.close()
        var lines = ["# label:color_rgb:parts:actions", "background:0,0,0::"]
        for (c, name) in classes.enumerated() {
            let (r, g, b) = classPalette.colors[c]
            lines.append("\(name):\(r),\(g),\(b)::")
        }
        try archive.add("labelmap.txt", [UInt8]((lines.joined(separator: "\n") + "\n").utf8))
        try archive.add("ImageSets/Segmentation/default.txt", contentsOf: list.path)
        try FileManager.default.removeItem(atPath: list.path)
        try archive.finish()
    }
}

/// Hugging Face `datasets`: images/<id>.<ext> and labels/<id>.png with metadata.jsonl (`file_name` → the image
/// column, `label_file_name` → the label column), id2label.json (the convention of segmentation datasets on the hub)
/// and a README.md dataset card.
struct HFWriter: ExportWriter {
    let directory: URL
    let classes: [String]
    let job: String
    private let metadata: StreamFile

    init(directory: URL, classes: [String], job: String) throws {
        self.directory = directory
        self.classes = classes
        self.job = job
        metadata = try StreamFile(directory.appendingPathComponent("metadata.jsonl").path)
    }

    mutating func add(_ item: ExportItem) throws {
        guard let image = item.image else { return }
        let imageFile = "images/\(item.id).\(image.fileExtension)", labelFile = "labels/\(item.id).png"
        try ExportFile.write(image.bytes, to: directory.appendingPathComponent(imageFile).path)
        try ExportFile.write(item.labelPNG, to: directory.appendingPathComponent(labelFile).path)
        try metadata.write(ExportJSON.string(["file_name": imageFile, "label_file_name": labelFile, "id": item.id]) + "\n")
    }

    func finish() throws {
        try metadata.close()
        let id2label = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ("\($0.offset)", $0.element) })
        try ExportFile.write([UInt8](try ExportJSON.encode(id2label)), to: directory.appendingPathComponent("id2label.json").path)
        let card = """
            ---
            configs:
            - config_name: default
              data_files:
              - split: train
                path:
                - metadata.jsonl
                - images/**
                - labels/**
            ---
            # labelmill job \(job)

            Semantic label maps made by labelmill (MaskCLIP) for the images in `images/`. Each row has `image` and
            `label`: an 8-bit map of the image's size whose value is the class index (names in `id2label.json`)
            or 255 where no class applies.

            ```python
            import datasets, json
            ds = datasets.load_dataset("path/to/this/folder")["train"]
            id2label = json.load(open("path/to/this/folder/id2label.json"))
            ```

            """
        try ExportFile.write([UInt8](card.utf8), to: directory.appendingPathComponent("README.md").path)
    }
}
