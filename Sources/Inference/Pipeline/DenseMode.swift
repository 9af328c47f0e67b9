import Foundation

/// How CLIP's last vision block becomes dense features (docs/DENSE-MODES.md). MaskCLIP is the default; the others
/// are later training-free methods that change the same block of the same checkpoint.
public enum DenseMode: String, Sendable, Codable, CaseIterable {
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

    /// MaskCLIP pads the resized image up to whole patches; the newer methods' code cuts the remainder off and
    /// resizes the position embeddings by a scale factor (docs/DENSE-MODES.md, "Geometry").
    var rounding: PreparedImage.PatchRounding { self == .maskclip ? .padUp : .cutDown }

    /// A sliding window that is not whole patches: MaskCLIP pads it as it pads a whole image; ClearCLIP's code pads
    /// it on both sides (and cuts the padding from the upsampled scores); SCLIP's and NACLIP's cut it down.
    var windowRounding: PreparedImage.PatchRounding {
        switch self {
        case .maskclip: .padUp
        case .clearclip: .padAround
        case .sclip, .naclip, .scclip: .cutDown
        }
    }

    /// Key smoothing uses MaskCLIP's last-block keys, which only MaskCLIP computes.
    public var hasKeySmoothing: Bool { self == .maskclip }

    /// [n, n] matrices the last block holds at once (for the memory estimate): SCLIP's two softmaxes, NACLIP's
    /// weights and neighbourhood prior, SC-CLIP's distances, three similarities, shared weights and one head's;
    /// one head's scores otherwise.
    var attentionMatrices: Int {
        switch self {
        case .maskclip, .clearclip: 1
        case .sclip, .naclip: 2
        case .scclip: 6
        }
    }
}

/// NACLIP's neighbourhood prior ω [n, n] over the class token and a gh × gw grid: for patches i, j at (r, c),
/// exp(-((r_i - r_j)² + (c_i - c_j)²) / (2σ²)); 0 in the class token's row and column.
func neighbourhoodPrior(gridHeight gh: Int, gridWidth gw: Int, sigma: Float = 5) -> [Float] {
    let n = 1 + gh * gw
    var prior = [Float](repeating: 0, count: n * n)
    // exp(-d²/(2σ²)) for every squared offset along one axis, so the 2-D prior is a product of two lookups.
    let longest = max(gh, gw)
    let axis = (0..<longest).map { Float(exp(-Double($0 * $0) / Double(2 * sigma * sigma))) }
    for i in 0..<gh * gw {
        let (ri, ci) = (i / gw, i % gw)
        let row = (1 + i) * n + 1
        for j in 0..<gh * gw {
            prior[row + j] = axis[abs(ri - j / gw)] * axis[abs(ci - j % gw)]
        }
    }
    return prior
}
