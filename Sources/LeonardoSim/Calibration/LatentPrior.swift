import Foundation

/// A Gaussian fitted to LEONARDO's aggregate posterior q(z) = E_x q(z|x): mean and covariance of the posterior
/// means plus the mean posterior variance on the diagonal, stored as the mean and the lower Cholesky factor.
/// Sampling from it instead of N(0, I) avoids the "prior hole" (regions of N(0, I) the encoder never uses; Ghosh et
/// al., ICLR 2020, fit such ex-post densities to autoencoder latents). Stored with a checkpoint as the JSON attribute
/// `latent_prior`.
public struct LatentPrior: Codable, Equatable, Sendable {
    public var mean: [Double]
    /// Lower-triangular Cholesky factor of the covariance, row-major L×L.
    public var cholesky: [Double]
    /// Trajectories it was fitted on.
    public var count: Int

    public var dimension: Int { mean.count }

    /// Fits the moments of the aggregate posterior from posterior means and log-variances (n×L each, row-major).
    public static func fit(mu: [Float], logvar: [Float], latentDim L: Int) throws -> LatentPrior {
        let n = mu.count / max(L, 1)
        guard L > 0, n >= L + 1, mu.count == n * L, logvar.count == n * L else {
            throw LeonardoError.invalidArgument("latent prior: need more than \(L) encoded trajectories (got \(n))")
        }
        var mean = [Double](repeating: 0, count: L)
        for i in 0..<n { for j in 0..<L { mean[j] += Double(mu[i * L + j]) } }
        for j in 0..<L { mean[j] /= Double(n) }
        var cov = [Double](repeating: 0, count: L * L)
        for i in 0..<n {
            for a in 0..<L {
                let da = Double(mu[i * L + a]) - mean[a]
                for b in 0...a { cov[a * L + b] += da * (Double(mu[i * L + b]) - mean[b]) }
            }
        }
        for a in 0..<L {
            for b in 0...a {
                cov[a * L + b] /= Double(n - 1)
                cov[b * L + a] = cov[a * L + b]
            }
            var v = 0.0
            for i in 0..<n { v += Foundation.exp(Double(logvar[i * L + a])) }
            cov[a * L + a] += v / Double(n)
        }
        return LatentPrior(mean: mean, cholesky: try choleskyLower(cov, L), count: n)
    }

    /// Encodes `data` with `model` and fits the prior to its posteriors.
    public static func fit(model: Leonardo, data: TrajectorySet) throws -> LatentPrior {
        guard data.length == model.config.length else {
            throw LeonardoError.invalidData(
                "latent prior: trajectories have \(data.length) frames, the model expects \(model.config.length)")
        }
        let (mu, logvar) = model.encode(data.normalized())
        return try fit(mu: mu, logvar: logvar, latentDim: model.config.latentDim)
    }

    /// `count` latents (count×L, row-major): mean + Cholesky · ε with ε ~ N(0, I) from `rng`, as one sgemm.
    public func sample(count n: Int, using rng: inout Xoshiro256StarStar) -> [Float] {
        let L = dimension
        let eps = (0..<(n * L)).map { _ in Float(rng.normal()) }
        let factor = cholesky.map { Float($0) }
        var z = [Float](repeating: 0, count: n * L)
        eps.withUnsafeBufferPointer { e in
            factor.withUnsafeBufferPointer { c in
                z.withUnsafeMutableBufferPointer { zp in
                    // Z = E · Cᵀ (each row z = C·ε)
                    sgemm(transB: true, m: n, n: L, k: L, a: e.baseAddress!, b: c.baseAddress!, c: zp.baseAddress!)
                }
            }
        }
        for i in 0..<n { for j in 0..<L { z[i * L + j] += Float(mean[j]) } }
        return z
    }

    /// The prior conditioned on one coordinate (the dose axis): see `ConditionalLatentPrior`.
    public func conditioned(on index: Int) throws -> ConditionalLatentPrior {
        let L = dimension
        guard index >= 0 && index < L else {
            throw LeonardoError.invalidArgument("latent prior: coordinate \(index) outside 0..<\(L)")
        }
        let cov = covariance
        let s = cov[index * L + index]
        var slope = [Double](repeating: 0, count: L)
        for j in 0..<L where j != index { slope[j] = cov[j * L + index] / s }
        // Schur complement S = Σ₋ᵢ₋ᵢ − Σ₋ᵢᵢ Σᵢ₋ᵢ / Σᵢᵢ over the other coordinates, and its Cholesky factor.
        let others = (0..<L).filter { $0 != index }
        var schur = [Double](repeating: 0, count: others.count * others.count)
        for (a, j) in others.enumerated() {
            for (b, k) in others.enumerated() {
                schur[a * others.count + b] = cov[j * L + k] - cov[j * L + index] * cov[index * L + k] / s
            }
        }
        let small = try choleskyLower(schur, others.count)
        var factor = [Double](repeating: 0, count: L * L)
        for (a, j) in others.enumerated() {
            for (b, k) in others.enumerated() { factor[j * L + k] = small[a * others.count + b] }
        }
        return ConditionalLatentPrior(index: index, mean: mean, slope: slope, cholesky: factor)
    }

    /// The covariance C·Cᵀ (row-major), for reports and tests.
    public var covariance: [Double] {
        let L = dimension
        var s = [Double](repeating: 0, count: L * L)
        for a in 0..<L {
            for b in 0..<L { for k in 0...min(a, b) { s[a * L + b] += cholesky[a * L + k] * cholesky[b * L + k] } }
        }
        return s
    }
}
