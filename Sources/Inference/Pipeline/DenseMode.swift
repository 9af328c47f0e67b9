import Foundation
import LabelAPI

/// The kernels' side of each dense mode (LabelAPI's `DenseMode` names them and holds their protocols).
extension DenseMode {
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
