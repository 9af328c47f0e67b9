import CKernels

/// The MLP activations CLIP checkpoints name in `hidden_act`.
public enum Activation: String, Sendable {
    /// x·σ(1.702x): OpenAI CLIP's.
    case quickGELU = "quick_gelu"
    /// 0.5·x·(1 + erf(x/√2)): exact GELU, as the MaskCLIP reference code (mmcv) runs it.
    case gelu = "gelu"
    /// tanh approximation of GELU.
    case geluTanh = "gelu_new"

    public init(configName: String) throws {
        switch configName {
        case "quick_gelu": self = .quickGELU
        case "gelu": self = .gelu
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": self = .geluTanh
        default: throw InferenceError(.badModel, "unsupported hidden_act \(configName)")
        }
    }

    /// Applies the activation to every element, in place.
    package func apply(_ m: inout Matrix) {
        let count = m.data.count
        m.data.withUnsafeMutableBufferPointer { buffer in
            let p = buffer.baseAddress!
            Parallel.forEachChunk(count, grain: 1 << 14) { range in
                let start = p + range.lowerBound
                switch self {
                case .quickGELU: lm_quick_gelu(start, range.count)
                case .gelu: lm_gelu_erf(start, range.count)
                case .geluTanh: lm_gelu_tanh(start, range.count)
                }
            }
        }
    }
}
