/// Numeric conventions for the image side.
public enum Preset: String, Sendable, Codable, CaseIterable {
    /// The checkpoint's own: `hidden_act` and `layer_norm_eps` from config.json, CLIP's mean/std.
    case clip
    /// The MaskCLIP reference code's backbone (mmseg): exact-erf GELU, LayerNorm eps 1e-6, ImageNet mean/std,
    /// for reproducing the published tables. The text side is the same in both presets (the reference computes
    /// class embeddings with the original CLIP package).
    case reference

    func visionSettings(_ tower: CLIPConfig.Tower) throws -> BlockSettings {
        switch self {
        case .clip: BlockSettings(eps: tower.layerNormEps, activation: try Activation(configName: tower.hiddenAct))
        case .reference: BlockSettings(eps: 1e-6, activation: .gelu)
        }
    }

    var statistics: PixelStatistics {
        switch self {
        case .clip: .clip
        case .reference: .imageNet
        }
    }
}
