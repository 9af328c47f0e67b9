import Foundation
import LabelAPI
import Support

/// A loaded Hugging Face CLIP directory: `config.json`, `model.safetensors` (memory-mapped), `vocab.json`,
/// `merges.txt`. Every tensor of both towers is checked for presence and shape when it loads.
public final class CLIPModel: Sendable {
    public let directory: URL
    public let config: CLIPConfig
    public let text: CLIPTextTransformer
    public let vision: CLIPVisionTransformer
    public let tokenizer: CLIPTokenizer
    /// Owns the memory every `Tensor` of the towers points into.
    package let weights: SafeTensorsFile
    /// The image encoder's number format here (the text tower always runs fp32).
    public let precision: Precision.Choice

    /// What a loaded model is for: labeling images (the vision tower is prepared for the products: bf16 copies or
    /// fc2 transposed), or only embedding class names (the coordinator, `embed`): its vision tower stays as read.
    public enum Use: Sendable {
        case images, textOnly
    }

    /// Refuses a `--model` that is missing or is a file (`.../model.safetensors`), in the words every command uses.
    public static func checkDirectory(_ directory: URL) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) else {
            throw InferenceError(.badModel, "model directory \(directory.path) does not exist")
        }
        guard isDirectory.boolValue else {
            throw InferenceError(.badModel, "\(directory.path) is a file: give the model's folder (\(directory.deletingLastPathComponent().path)), "
                                 + "which holds config.json, model.safetensors and the tokenizer's files")
        }
    }

    public init(directory: URL, precision requested: Precision = .fp32, use: Use = .images) throws {
        try Self.checkDirectory(directory)
        self.directory = directory
        config = try CLIPConfig.load(directory: directory)
        let weightsPath = directory.appendingPathComponent("model.safetensors").path
        guard FileManager.default.fileExists(atPath: weightsPath) else {
            throw InferenceError(.badModel, "\(directory.path) has no model.safetensors (only the safetensors format is read)")
        }
        weights = try SafeTensorsFile(path: weightsPath)
        let read = WeightReader(file: weights)
        text = try CLIPTextTransformer(read, config: config.text, projectionDim: config.projectionDim)
        let tower = try CLIPVisionTransformer(read, config: config.vision, projectionDim: config.projectionDim)
        switch use {
        case .textOnly:
            precision = Precision.fp32.resolve()
            vision = tower
        case .images:
            precision = requested.resolve()
            vision = precision.runs == .bf16 ? tower.withBF16Blocks()
                : BLAS.info.oneDNN != nil ? tower.withTransposedMLPOutputs() : tower
        }
        tokenizer = try CLIPTokenizer(directory: directory, contextLength: config.text.maxPositionEmbeddings)
    }

    /// sha256 of `model.safetensors`, which identifies the weights class embeddings were made with.
    public func weightsSHA256() throws -> String {
        do { return try SHA256Hex.of(file: weights.path) } catch { throw InferenceError(.io, error.description) }
    }
}
