import XCTest
@testable import LeonardoSim

/// The aggregate-posterior prior: moments against a known Gaussian, Cholesky against its definition, sampling
/// statistics, checkpoint round trip and error paths.
final class LatentPriorTests: XCTestCase {
    /// Posterior means from N(m, Σ) with a fixed posterior variance v: the fit must give mean m and Σ + v·I.
    func testFitRecoversTheMomentsOfTheAggregatePosterior() throws {
        let L = 3
        let n = 20_000
        let m = [0.5, -1.0, 0.2]
        let chol: [Double] = [1.0, 0, 0, 0.6, 0.8, 0, -0.3, 0.2, 0.5]  // Σ = C·Cᵀ
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
        for a in 0..<L {
            XCTAssertGreaterThan(prior.cholesky[a * L + a], 0)
            for b in (a + 1)..<L { XCTAssertEqual(prior.cholesky[a * L + b], 0) }
        }
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

    /// Conditioning on one coordinate: slope and Schur complement against hand-computed values, and the
    /// reassembled latents (zᵢ from its marginal, whitened others ~ N(0, I)) against the joint moments.
    func testConditioningOnTheDoseCoordinate() throws {
        let L = 3
        let sigma: [Double] = [2, 0.6, -0.4, 0.6, 1, 0.3, -0.4, 0.3, 1.5]
        let prior = LatentPrior(mean: [0.5, -1, 2], cholesky: try choleskyLower(sigma, L), count: 100)
        let c = try prior.conditioned(on: 1)
        // slope = Σ₋ᵢᵢ/Σᵢᵢ = (0.6, 0.3); S = [[2 − 0.36, −0.4 − 0.18], [−0.58, 1.5 − 0.09]].
        XCTAssertEqual(c.slope[0], 0.6, accuracy: 1e-12)
        XCTAssertEqual(c.slope[1], 0)
        XCTAssertEqual(c.slope[2], 0.3, accuracy: 1e-12)
        let schur = [(0, 0, 1.64), (0, 2, -0.58), (2, 0, -0.58), (2, 2, 1.41)]
        for (j, k, v) in schur {
            var s = 0.0
            for m in 0..<L { s += c.cholesky[j * L + m] * c.cholesky[k * L + m] }
            XCTAssertEqual(s, v, accuracy: 1e-12, "S[\(j),\(k)]")
        }
        for m in 0..<L {
            XCTAssertEqual(c.cholesky[1 * L + m], 0)
            XCTAssertEqual(c.cholesky[m * L + 1], 0)
        }
        // Reassembled samples have the joint law N(μ, Σ).
        var rng = Xoshiro256StarStar(seed: 31)
        let n = 100_000
        var z = [Double](repeating: 0, count: n * L)
        for i in 0..<n {
            var u = (0..<L).map { _ in rng.normal() }
            u[1] = prior.mean[1] + sigma[4].squareRoot() * u[1]
            let x = c.latent(fromWhitened: u)
            for a in 0..<L { z[i * L + a] = Double(x[a]) }
            XCTAssertEqual(Double(x[1]), u[1], accuracy: 1e-6, "the dose coordinate passes through")
        }
        for a in 0..<L {
            let mean = (0..<n).reduce(0.0) { $0 + z[$1 * L + a] } / Double(n)
            XCTAssertEqual(mean, prior.mean[a], accuracy: 0.015)
            for b in 0..<L {
                var cov = 0.0
                for i in 0..<n { cov += (z[i * L + a] - prior.mean[a]) * (z[i * L + b] - prior.mean[b]) }
                XCTAssertEqual(cov / Double(n), sigma[a * L + b], accuracy: 0.03, "Σ[\(a),\(b)]")
            }
        }
        XCTAssertThrowsError(try prior.conditioned(on: 3))
        XCTAssertThrowsError(try prior.conditioned(on: -1))
    }

    func testBadInputsAreRejected() {
        XCTAssertThrowsError(
            try LatentPrior.fit(mu: [0, 1, 2], logvar: [0, 0, 0], latentDim: 3), "fewer trajectories than dimensions")
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
