import XCTest
@testable import LeonardoSim

/// The aggregate-posterior prior: moments against a known Gaussian, Cholesky against its definition, sampling
/// statistics, checkpoint round trip and error paths.
final class LatentPriorTests: XCTestCase {
    /// Posterior means from N(m, Σ) with a fixed posterior variance v: the fit must give mean m and Σ + v·I.
    func testFitRecoversTheMomentsOfTheAggregatePosterior() throws {
        let L = 3, n = 20_000
        let m = [0.5, -1.0, 0.2]
        let chol: [Double] = [1.0, 0, 0, 0.6, 0.8, 0, -0.3, 0.2, 0.5]      // Σ = C·Cᵀ
        var rng = Xoshiro256StarStar(seed: 21)
        var mu = [Float](repeating: 0, count: n * L)
        for i in 0..<n {
            let e = (0..<L).map { _ in rng.normal() }
            for a in 0..<L {
                var x = m[a]
                for k in 0...a { x += chol[a * L + k] * e[k] }
                mu[i * L + a] = Float(x)
            }
        }
        let v = 0.1
        let logvar = [Float](repeating: Float(Foundation.log(v)), count: n * L)
        let prior = try LatentPrior.fit(mu: mu, logvar: logvar, latentDim: L)
        for a in 0..<L { XCTAssertEqual(prior.mean[a], m[a], accuracy: 0.03) }
        let cov = prior.covariance
        for a in 0..<L {
            for b in 0..<L {
                var sigma: Double = a == b ? v : 0
                for k in 0...min(a, b) { sigma += chol[a * L + k] * chol[b * L + k] }
                XCTAssertEqual(cov[a * L + b], sigma, accuracy: 0.04, "Σ[\(a),\(b)]")
            }
        }
        // The factor is lower triangular with a positive diagonal.
        for a in 0..<L { XCTAssertGreaterThan(prior.cholesky[a * L + a], 0); for b in (a + 1)..<L { XCTAssertEqual(prior.cholesky[a * L + b], 0) } }
        // Samples reproduce mean and covariance.
        var r2 = Xoshiro256StarStar(seed: 22)
        let z = prior.sample(count: n, using: &r2)
        for a in 0..<L {
            let xs = (0..<n).map { Double(z[$0 * L + a]) }
            let mean = xs.reduce(0, +) / Double(n)
            XCTAssertEqual(mean, prior.mean[a], accuracy: 0.04)
            for b in 0..<L {
                var c = 0.0
                for i in 0..<n { c += (Double(z[i * L + a]) - mean) * (Double(z[i * L + b]) - prior.mean[b]) }
                XCTAssertEqual(c / Double(n - 1), cov[a * L + b], accuracy: 0.05)
            }
        }
    }

    func testBadInputsAreRejected() {
        XCTAssertThrowsError(try LatentPrior.fit(mu: [0, 1, 2], logvar: [0, 0, 0], latentDim: 3), "fewer trajectories than dimensions")
        XCTAssertThrowsError(try choleskyLower([1, 2, 2, 1], 2), "not positive definite")
    }

    func testCheckpointRoundTrip() throws {
        let model = try Leonardo(config: .tiny, seed: 9)
        let L = model.config.latentDim
        var rng = Xoshiro256StarStar(seed: 3)
        let n = 4 * L
        let mu = (0..<(n * L)).map { _ in Float(rng.normal()) }
        model.latentPrior = try LatentPrior.fit(mu: mu, logvar: [Float](repeating: -1, count: n * L), latentDim: L)
        let path = temporaryPath("prior.h5")
        try model.save(path)
        XCTAssertEqual(try Leonardo.load(path).latentPrior, model.latentPrior)
    }
}
