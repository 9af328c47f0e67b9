/// The names a job's settings choose from: dense modes, presets, number formats and template sets. Each is written
/// once, here, with what depends on it (a mode's published protocol, which refinements it has); Inference adds the
/// kernel code of each case, so a new mode is a case here plus its kernels (the compiler finds every switch).

/// A set of names one setting chooses from.
public protocol SettingName: RawRepresentable<String>, CaseIterable, Hashable, Sendable, Codable {}

extension SettingName {
    /// "a, b or c".
    public static var allowedNames: String { spoken(allCases.map(\.rawValue), or: true) }
}

/// A named setting's value as sent. It may be a name this build does not know (a newer coordinator's job): it
/// still decodes and encodes as sent, and `JobSettings.validate` refuses it, naming it and the names it knows.
public struct Named<Value: SettingName>: RawRepresentable, Codable, Hashable, Sendable, ExpressibleByStringLiteral,
    CustomStringConvertible
{
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { rawValue = value }
    public init(_ value: Value) { rawValue = value.rawValue }

    /// The value, when this build knows its name.
    public var known: Value? { Value(rawValue: rawValue) }
    public var description: String { rawValue }

    public static func == (named: Self, value: Value) -> Bool { named.rawValue == value.rawValue }
    public static func != (named: Self, value: Value) -> Bool { named.rawValue != value.rawValue }
}

/// How CLIP's last vision block becomes dense features (docs/DENSE-MODES.md). MaskCLIP is the default; the others
/// are later training-free methods that change the same block of the same checkpoint.
public enum DenseMode: String, SettingName {
    /// Zhou et al., ECCV 2022: the last block's value path, no attention; residual and MLP kept.
    case maskclip
    /// Lan et al., ECCV 2024: query-query attention; no residual, no MLP.
    case clearclip
    /// Wang et al., ECCV 2024: query-query plus key-key attention (two softmaxes summed); residual and MLP kept.
    case sclip
    /// Hajimiri et al., WACV 2025: key-key attention with a Gaussian neighbourhood prior; no residual, no MLP.
    case naclip
    /// Bai et al., 2025 (SC-CLIP): outlier tokens repaired, key-key attention averaged with one steered by a middle
    /// block's token similarity, aggregated by an early block's, plus a branch over the middle blocks' sum.
    case scclip

    /// The mode's published protocol on ViT-B/16 (docs/DENSE-MODES.md, "Presets"): the defaults of the settings a
    /// job leaves out, so `--mode naclip` alone is NACLIP's setting. Every value can still be given.
    public var defaults: ModeDefaults {
        switch self {
        case .maskclip: ModeDefaults(shortSide: 512, window: 0, stride: 0, pamrIterations: 0, templates: .maskclip85, logitScale: 100)
        case .clearclip: ModeDefaults(shortSide: 448, window: 448, stride: 224, pamrIterations: 0, templates: .imagenet80, logitScale: 50)
        case .sclip: ModeDefaults(shortSide: 336, window: 224, stride: 112, pamrIterations: 0, templates: .imagenet80, logitScale: 40)
        case .naclip: ModeDefaults(shortSide: 336, window: 224, stride: 112, pamrIterations: 10, templates: .imagenet80, logitScale: 40)
        case .scclip: ModeDefaults(shortSide: 336, window: 224, stride: 112, pamrIterations: 0, templates: .imagenet80, logitScale: 40)
        }
    }

    /// Key smoothing uses MaskCLIP's last-block keys, which only MaskCLIP computes.
    public var hasKeySmoothing: Bool { self == .maskclip }

    /// Prompt denoising is MaskCLIP's whole-image refinement: on (0.5) by default there, off in the newer modes and
    /// with sliding windows.
    public func defaultPromptDenoise(window: Int) -> Float { self == .maskclip && window == 0 ? 0.5 : 0 }
}

/// The settings a dense mode's protocol fixes when a job leaves them out.
public struct ModeDefaults: Sendable, Equatable {
    public var shortSide: Int
    public var window: Int
    public var stride: Int
    public var pamrIterations: Int
    public var templates: TemplateSet
    public var logitScale: Float
}

/// Numeric conventions of the image side.
public enum Preset: String, SettingName {
    /// The checkpoint's own: `hidden_act` and `layer_norm_eps` from config.json, CLIP's mean/std.
    case clip
    /// The MaskCLIP reference code's backbone (mmseg): exact-erf GELU, LayerNorm eps 1e-6, ImageNet mean/std,
    /// for reproducing the published tables. The text side is the same in both presets (the reference computes
    /// class embeddings with the original CLIP package).
    case reference
}

/// The number format of the image encoder's matrix products (docs/PRECISION.md).
///
/// - `fp32`: everything in single precision.
/// - `bf16`: the linear layers' products take bf16 inputs (weights converted once at load, activations rounded as
///   they go in) and accumulate in fp32; attention, LayerNorm, softmax, GELU, the head and every reduction stay
///   fp32. Needs oneDNN and a CPU with bf16 matrix products (AVX512-BF16 or AMX); elsewhere fp32 runs.
/// - `auto`: bf16 where it is faster than fp32 on this CPU, else fp32 (a job's auto: each worker's own choice).
public enum Precision: String, SettingName {
    case fp32, bf16, auto
}

/// The built-in prompt template sets (a job may also carry its own: `JobSettings.inlineTemplatesPrefix`).
public enum TemplateSet: String, SettingName {
    /// MaskCLIP's 85 templates.
    case maskclip85
    /// CLIP's 80 ImageNet templates, the newer methods' own.
    case imagenet80
    /// "a photo of a {}.".
    case single
}

/// "a, b or c" (or "a, b and c").
func spoken(_ items: [String], or: Bool) -> String {
    guard items.count > 1 else { return items.first ?? "" }
    return items.dropLast().joined(separator: ", ") + (or ? " or " : " and ") + items[items.count - 1]
}
