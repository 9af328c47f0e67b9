import Foundation

/// `config.json` of a Hugging Face CLIP checkpoint. Fields the file leaves out take the defaults of
/// transformers' `CLIPTextConfig` / `CLIPVisionConfig`; the tensors are checked against these numbers on load.
public struct CLIPConfig: Codable, Sendable, Equatable {
    public struct Tower: Codable, Sendable, Equatable {
        public var hiddenSize: Int
        public var intermediateSize: Int
        public var numHiddenLayers: Int
        public var numAttentionHeads: Int
        public var hiddenAct: String
        public var layerNormEps: Float
        // Vision only.
        public var patchSize: Int
        public var imageSize: Int
        // Text only.
        public var vocabSize: Int
        public var maxPositionEmbeddings: Int

        enum CodingKeys: String, CodingKey {
            case hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
            case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
            case hiddenAct = "hidden_act", layerNormEps = "layer_norm_eps"
            case patchSize = "patch_size", imageSize = "image_size"
            case vocabSize = "vocab_size", maxPositionEmbeddings = "max_position_embeddings"
        }

        static let textDefaults = Tower(
            hiddenSize: 512, intermediateSize: 2048, numHiddenLayers: 12, numAttentionHeads: 8,
            hiddenAct: "quick_gelu", layerNormEps: 1e-5, patchSize: 0, imageSize: 0,
            vocabSize: 49408, maxPositionEmbeddings: 77)
        static let visionDefaults = Tower(
            hiddenSize: 768, intermediateSize: 3072, numHiddenLayers: 12, numAttentionHeads: 12,
            hiddenAct: "quick_gelu", layerNormEps: 1e-5, patchSize: 32, imageSize: 224,
            vocabSize: 0, maxPositionEmbeddings: 0)

        init(hiddenSize: Int, intermediateSize: Int, numHiddenLayers: Int, numAttentionHeads: Int, hiddenAct: String,
             layerNormEps: Float, patchSize: Int, imageSize: Int, vocabSize: Int, maxPositionEmbeddings: Int) {
            self.hiddenSize = hiddenSize
            self.intermediateSize = intermediateSize
            self.numHiddenLayers = numHiddenLayers
            self.numAttentionHeads = numAttentionHeads
            self.hiddenAct = hiddenAct
            self.layerNormEps = layerNormEps
            self.patchSize = patchSize
            self.imageSize = imageSize
            self.vocabSize = vocabSize
            self.maxPositionEmbeddings = maxPositionEmbeddings
        }

        init(from decoder: any Decoder, defaults d: Tower) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? d.hiddenSize
            intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? d.intermediateSize
            numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? d.numHiddenLayers
            numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? d.numAttentionHeads
            hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? d.hiddenAct
            layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? d.layerNormEps
            patchSize = try c.decodeIfPresent(Int.self, forKey: .patchSize) ?? d.patchSize
            imageSize = try c.decodeIfPresent(Int.self, forKey: .imageSize) ?? d.imageSize
            vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? d.vocabSize
            maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? d.maxPositionEmbeddings
        }

        public var headDim: Int { hiddenSize / numAttentionHeads }
        /// Patches per side of the pretraining grid (vision).
        public var gridSize: Int { imageSize / patchSize }
    }

    public var text: Tower
    public var vision: Tower
    public var projectionDim: Int

    enum CodingKeys: String, CodingKey {
        case text = "text_config", vision = "vision_config", projectionDim = "projection_dim"
        case textDict = "text_config_dict", visionDict = "vision_config_dict", modelType = "model_type"
    }

    /// Decodes a tower with the defaults of its kind, inside the decoder's own call.
    private struct TextTower: Decodable {
        let tower: Tower
        init(from decoder: any Decoder) throws { tower = try Tower(from: decoder, defaults: .textDefaults) }
    }

    private struct VisionTower: Decodable {
        let tower: Tower
        init(from decoder: any Decoder) throws { tower = try Tower(from: decoder, defaults: .visionDefaults) }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decodeIfPresent(String.self, forKey: .modelType)
        guard type == nil || type == "clip" else {
            throw InferenceError(.badModel, "config.json describes a \(type!) model, not CLIP")
        }
        guard let textTower = try c.decodeIfPresent(TextTower.self, forKey: .text) ?? c.decodeIfPresent(TextTower.self, forKey: .textDict),
              let visionTower = try c.decodeIfPresent(VisionTower.self, forKey: .vision) ?? c.decodeIfPresent(VisionTower.self, forKey: .visionDict)
        else { throw InferenceError(.badModel, "config.json has no text_config or vision_config: not a CLIP config") }
        text = textTower.tower
        vision = visionTower.tower
        projectionDim = try c.decodeIfPresent(Int.self, forKey: .projectionDim) ?? 512
        for (name, t) in [("text", text), ("vision", vision)] {
            guard t.hiddenSize > 0, t.numAttentionHeads > 0, t.hiddenSize % t.numAttentionHeads == 0,
                  t.numHiddenLayers > 0, t.intermediateSize > 0, t.layerNormEps > 0
            else { throw InferenceError(.badModel, "config.json: \(name)_config has inconsistent sizes") }
        }
        guard vision.patchSize > 0, vision.imageSize >= vision.patchSize, vision.numHiddenLayers >= 1,
              text.vocabSize > 0, text.maxPositionEmbeddings > 0, projectionDim > 0
        else { throw InferenceError(.badModel, "config.json: patch, image, vocabulary or projection size is invalid") }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(text, forKey: .text)
        try c.encode(vision, forKey: .vision)
        try c.encode(projectionDim, forKey: .projectionDim)
        try c.encode("clip", forKey: .modelType)
    }

    public static func load(directory: URL) throws -> CLIPConfig {
        let url = directory.appendingPathComponent("config.json")
        guard let data = try? Data(contentsOf: url) else {
            throw InferenceError(.badModel, "\(directory.path) is not a CLIP model directory: no readable config.json")
        }
        do {
            return try JSONDecoder().decode(CLIPConfig.self, from: data)
        } catch let error as InferenceError {
            throw InferenceError(.badModel, "\(url.path): \(error.message)")
        } catch {
            throw InferenceError(.badModel, "\(url.path) is not a valid CLIP config: \(error)")
        }
    }
}
