import Foundation

/// A Gaussian latent prior N(μ, Σ) written as its dose coordinate zᵢ and the conditional law of the others:
/// z₋ᵢ | zᵢ ~ N(μ₋ᵢ + slope·(zᵢ − μᵢ), S), slope = Σ₋ᵢᵢ/Σᵢᵢ, S = Σ₋ᵢ₋ᵢ − Σ₋ᵢᵢΣᵢ₋ᵢ/Σᵢᵢ (Gaussian conditioning).
/// The environment drives zᵢ by the dose calibration and lets whitened coordinates u ~ N(0, I) drift; then
/// z₋ᵢ = μ₋ᵢ + slope·(zᵢ − μᵢ) + C·u with C the Cholesky factor of S has the prior's conditional law for any zᵢ.
public struct ConditionalLatentPrior: Equatable, Sendable {
    /// The conditioning (dose) coordinate.
    public let index: Int
    public let mean: [Double]
    /// Regression of every other coordinate on zᵢ (entry `index` is 0).
    public let slope: [Double]
    /// Lower Cholesky factor of S embedded in L×L (row and column `index` are 0), row-major.
    public let cholesky: [Double]

    /// The latent for dose coordinate `state[index]` and whitened others `state[j]`, j ≠ index.
    public func latent(fromWhitened state: [Double]) -> [Float] {
        let L = mean.count
        let zi = state[index]
        var out = [Float](repeating: 0, count: L)
        for j in 0..<L {
            if j == index {
                out[j] = Float(zi)
                continue
            }
            var v = mean[j] + slope[j] * (zi - mean[index])
            for k in 0...j where k != index { v += cholesky[j * L + k] * state[k] }
            out[j] = Float(v)
        }
        return out
    }
}
