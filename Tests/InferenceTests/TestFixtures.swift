import Foundation
import Testing
@testable import Inference

/// The committed fixtures: the tiny random CLIP (scripts/make_test_model.py) and the golden outputs of the
/// Python reference (scripts/make_goldens.py).
enum TestFixtures {
    static let root = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
    static let tinyModelDirectory = root.appendingPathComponent("tiny-clip")
    /// Loaded once and shared: the model is immutable.
    static let tinyModel = Result { try CLIPModel(directory: tinyModelDirectory) }
    static let classNames = ["cat", "dog", "tree", "sky", "person"]

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
