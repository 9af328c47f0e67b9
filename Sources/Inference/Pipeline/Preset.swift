import LabelAPI

/// What each preset means to the image side (LabelAPI's `Preset` names them).
extension Preset {
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
