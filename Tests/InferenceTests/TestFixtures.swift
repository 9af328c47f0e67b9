import Foundation
import Testing
import Inference

/// The committed fixtures: the tiny random CLIP (scripts/make_test_model.py) and the golden outputs of the
/// Python reference (scripts/make_goldens.py).
enum TestFixtures {
    static let root = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
    static let tinyModelDirectory = root.appendingPathComponent("tiny-clip")
    /// Loaded once and shared: the model is immutable.
    static let tinyModel = Result { try CLIPModel(directory: tinyModelDirectory) }
    static let classNames = ["cat", "dog", "tree", "sky", "person"]
    /// ViT-L/14-336's geometry (patch 14, 16 heads, 24 x 24 grid) at a tiny width, with OpenCLIP's `gelu`.
    static let l14Model = Result { try assembledModel("tiny-l14-336-gelu") }
    /// ViT-B/16's 12 blocks and 14 x 14 grid at a tiny width (SC-CLIP reads blocks 4, 9 and 4...10).
    static let deepModel = Result { try assembledModel("tiny-12") }

    /// A fixture's config.json and model.safetensors with tiny-clip's tokenizer files, put together in a temporary
    /// directory as a Hugging Face model directory is laid out.
    static func assembledModel(_ folder: String) throws -> CLIPModel {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }  // the loaded model keeps what it mapped
        for (source, file) in [(folder, "config.json"), (folder, "model.safetensors"), ("tiny-clip", "vocab.json"), ("tiny-clip", "merges.txt")] {
            try FileManager.default.copyItem(at: root.appendingPathComponent("\(source)/\(file)"), to: directory.appendingPathComponent(file))
        }
        return try CLIPModel(directory: directory)
    }

    static func golden(_ name: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(path: root.appendingPathComponent("golden/\(name).safetensors").path)
    }

    static func goldenImage(_ name: String) throws -> RGBImage {
        try ImageCodec.read(contentsOf: root.appendingPathComponent("golden/images/\(name)").path)
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("labelmill-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// Largest absolute difference between two float sequences of the same length.
func maxAbsDifference<A: Collection, B: Collection>(_ a: A, _ b: B) -> Float where A.Element == Float, B.Element == Float {
    precondition(a.count == b.count, "lengths differ: \(a.count) vs \(b.count)")
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}
