import CBLAS
import Foundation

/// Fréchet distance between Gaussians fitted to two sets of embeddings (the LEONARDO paper's Fréchet Motion
/// Distance, after the Fréchet Inception Distance of Heusel et al., NeurIPS 2017):
/// FMD² = ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁^½ Σ₂ Σ₁^½)^½).
/// The matrix square roots use the symmetric eigendecomposition; Tr((Σ₁^½ Σ₂ Σ₁^½)^½) is the sum of the square
/// roots of the (clipped non-negative) eigenvalues of the symmetric PSD matrix Σ₁^½ Σ₂ Σ₁^½. Accumulation in
/// double precision; covariances use the unbiased (n − 1) normalisation.
public enum FrechetMotionDistance {
    public static func meanAndCovariance(_ x: [Float], dimension d: Int) -> (mean: [Double], covariance: [Double]) {
        let n = x.count / d
        var mean = [Double](repeating: 0, count: d)
        for i in 0..<n { for j in 0..<d { mean[j] += Double(x[i * d + j]) } }
        for j in 0..<d { mean[j] /= Double(n) }
        var cov = [Double](repeating: 0, count: d * d)
        var row = [Double](repeating: 0, count: d)
        for i in 0..<n {
            for j in 0..<d { row[j] = Double(x[i * d + j]) - mean[j] }
            for a in 0..<d {
                let ra = row[a]
                for b in a..<d { cov[a * d + b] += ra * row[b] }
            }
        }
        let denom = Double(max(n - 1, 1))
        for a in 0..<d {
            for b in a..<d {
                cov[a * d + b] /= denom
                cov[b * d + a] = cov[a * d + b]
            }
        }
        return (mean, cov)
    }

    /// FMD² from the Gaussian statistics of two sets.
    public static func squaredDistance(mean1: [Double], cov1: [Double], mean2: [Double], cov2: [Double]) throws
        -> Double
    {
        let d = mean1.count
        var meanTerm = 0.0
        for j in 0..<d { meanTerm += (mean1[j] - mean2[j]) * (mean1[j] - mean2[j]) }
        let s1 = try SymmetricEigen.sqrtPSD(cov1, n: d)
        // M = S1 · Σ2 · S1 (symmetric PSD).
        var tmp = [Double](repeating: 0, count: d * d)
        var m = [Double](repeating: 0, count: d * d)
        _ = OpenBLAS.prepared
        cblas_dgemm(
            CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(d), Int32(d), Int32(d), 1, s1, Int32(d), cov2, Int32(d), 0,
            &tmp, Int32(d))
        cblas_dgemm(
            CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(d), Int32(d), Int32(d), 1, tmp, Int32(d), s1, Int32(d), 0,
            &m, Int32(d))
        for a in 0..<d {
            for b in (a + 1)..<max(d, a + 1) where b < d {
                let v = 0.5 * (m[a * d + b] + m[b * d + a])
                m[a * d + b] = v
                m[b * d + a] = v
            }
        }
        let (w, _) = try SymmetricEigen.decompose(m, n: d)
        let traceSqrt = w.reduce(0) { $0 + max($1, 0).squareRoot() }
        var trace = 0.0
        for j in 0..<d { trace += cov1[j * d + j] + cov2[j * d + j] }
        return max(0, meanTerm + trace - 2 * traceSqrt)
    }

    /// FMD² between two sets of embeddings (n₁×d and n₂×d, row-major).
    public static func squaredDistance(_ a: [Float], _ b: [Float], dimension d: Int) throws -> Double {
        let (m1, c1) = meanAndCovariance(a, dimension: d)
        let (m2, c2) = meanAndCovariance(b, dimension: d)
        return try squaredDistance(mean1: m1, cov1: c1, mean2: m2, cov2: c2)
    }
}
