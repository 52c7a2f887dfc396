import Foundation
import XCTest

@testable import LeonardoSim

/// A random walk (per-frame variance q) seen through localisation noise (variance r), T×2 interleaved, and its truth.
private func noisyWalk(length T: Int, q: Double, r: Double, seed: UInt64) -> (recorded: [Double], truth: [Double]) {
    var rng = Xoshiro256StarStar(seed: seed)
    var truth = [Double](repeating: 0, count: 2 * T)
    var recorded = truth
    var x = (40.0, -25.0)
    for t in 0..<T {
        if t > 0 {
            x.0 += q.squareRoot() * rng.normal()
            x.1 += q.squareRoot() * rng.normal()
        }
        truth[2 * t] = x.0
        truth[2 * t + 1] = x.1
        recorded[2 * t] = x.0 + r.squareRoot() * rng.normal()
        recorded[2 * t + 1] = x.1 + r.squareRoot() * rng.normal()
    }
    return (recorded, truth)
}

/// Solves A X = B for a symmetric positive-definite A (n×n, row-major) by Cholesky, in double precision.
private func choleskySolve(_ A: [Double], _ B: [Double], n: Int, columns: Int) -> [Double] {
    var L = [Double](repeating: 0, count: n * n)
    for i in 0..<n {
        for j in 0...i {
            var s = A[i * n + j]
            for k in 0..<j { s -= L[i * n + k] * L[j * n + k] }
            L[i * n + j] = i == j ? s.squareRoot() : s / L[j * n + j]
        }
    }
    var X = B
    for c in 0..<columns {
        for i in 0..<n {  // forward
            var s = X[i * columns + c]
            for k in 0..<i { s -= L[i * n + k] * X[k * columns + c] }
            X[i * columns + c] = s / L[i * n + i]
        }
        for i in stride(from: n - 1, through: 0, by: -1) {  // backward with Lᵀ
            var s = X[i * columns + c]
            for k in (i + 1)..<n { s -= L[k * n + i] * X[k * columns + c] }
            X[i * columns + c] = s / L[i * n + i]
        }
    }
    return X
}

private func model(length: Int = 48, seed: UInt64 = 3) throws -> Leonardo {
    var c = LeonardoConfig.tiny
    c.length = length
    return try Leonardo(config: c, seed: seed)
}

final class LocalLevelSmootherTests: XCTestCase {
    /// The Kalman/RTS posterior equals Gaussian conditioning on the dense joint covariance (x_0 ~ N(0, κ), κ large:
    /// the diffuse start), frame by frame, hidden frames and the frames beyond the last recorded one included.
    func testSmootherMatchesDenseGaussianConditioning() {
        let T = 14
        let q = 0.7
        let r = 0.3
        let observed = (0..<T).map { ![0, 3, 4, 5, 9, 12, 13].contains($0) }
        let (recorded, _) = noisyWalk(length: T, q: q, r: r, seed: 11)
        let values = (0..<T).map { recorded[2 * $0] }
        let post = LocalLevelSmoother.smooth(values: values, observed: observed, q: q, r: r)
        // Dense: Cov(x_s, x_t) = κ + q·min(s, t); y = x + v on the recorded frames.
        let kappa = 1e7
        let rec = (0..<T).filter { observed[$0] }
        let n = rec.count
        var Syy = [Double](repeating: 0, count: n * n)
        for (i, s) in rec.enumerated() {
            for (j, t) in rec.enumerated() { Syy[i * n + j] = kappa + q * Double(min(s, t)) + (i == j ? r : 0) }
        }
        var Syx = [Double](repeating: 0, count: n * T)  // n×T
        for (i, s) in rec.enumerated() {
            for t in 0..<T { Syx[i * T + t] = kappa + q * Double(min(s, t)) }
        }
        let W = choleskySolve(Syy, Syx, n: n, columns: T)  // Syy⁻¹ Syx
        let yRec = rec.map { values[$0] }
        for t in 0..<T {
            var mean = 0.0
            var reduction = 0.0
            for i in 0..<n {
                mean += W[i * T + t] * yRec[i]
                reduction += Syx[i * T + t] * W[i * T + t]
            }
            let variance = kappa + q * Double(t) - reduction
            XCTAssertEqual(post.mean[t], mean, accuracy: 1e-5 * (1 + abs(mean)), "mean at frame \(t)")
            XCTAssertEqual(post.variance[t], variance, accuracy: 2e-4, "variance at frame \(t)")
        }
    }

    /// Maximum likelihood recovers (q, r) of a long simulated recording within a few per cent.
    func testFitRecoversRandomWalkAndLocalisationNoise() {
        let T = 4000
        let (recorded, _) = noisyWalk(length: T, q: 2.0, r: 5.0, seed: 5)
        let axes = (0..<2).map { a in (0..<T).map { recorded[2 * $0 + a] } }
        let observed = (0..<T).map { $0 % 3 != 1 }
        let fit = LocalLevelSmoother.fit(axes: axes, observed: observed)
        XCTAssertEqual(fit.q, 2.0, accuracy: 0.2)
        XCTAssertEqual(fit.r, 5.0, accuracy: 0.4)
        // The optimum beats its neighbours: the golden-section search found the maximum.
        for (dq, dr) in [(1.15, 1.0), (0.87, 1.0), (1.0, 1.1), (1.0, 0.9)] {
            var ll = 0.0
            for y in axes {
                ll +=
                    LocalLevelSmoother.smooth(values: y, observed: observed, q: fit.q * dq, r: fit.r * dr)
                    .logLikelihood
            }
            XCTAssertLessThan(ll, fit.logLikelihood + 1e-6)
        }
    }

    /// With r = 0 the smoother's variance between recorded frames is the Brownian bridge's q(t−a)(b−t)/(b−a).
    func testNoiselessSmootherIsTheBrownianBridge() {
        let T = 20
        let observed = (0..<T).map { $0 % 5 == 0 || $0 == T - 1 }
        let values = (0..<T).map { Double($0 * $0 % 7) }
        let q = 1.3
        let post = LocalLevelSmoother.smooth(values: values, observed: observed, q: q, r: 0)
        let linear = LocalLevelSmoother.linearInterpolation(values, observed: observed)
        for t in 0..<T where !observed[t] {
            let a = (t / 5) * 5
            let b = min(a + 5, T - 1)
            XCTAssertEqual(post.variance[t], q * Double(t - a) * Double(b - t) / Double(b - a), accuracy: 1e-6)
            XCTAssertEqual(post.mean[t], linear[t], accuracy: 1e-6)
        }
    }

    /// Forward filtering, backward sampling draws from the smoother's posterior: its sample mean and variance match.
    func testBackwardSamplingMatchesThePosterior() {
        let T = 12
        let observed = (0..<T).map { $0 != 4 && $0 != 5 && $0 != 11 }
        let (recorded, _) = noisyWalk(length: T, q: 1, r: 0.5, seed: 2)
        let values = (0..<T).map { recorded[2 * $0] }
        let post = LocalLevelSmoother.smooth(values: values, observed: observed, q: 1, r: 0.5)
        var rng = Xoshiro256StarStar(seed: 4)
        let draws = (0..<20_000).map { _ in
            LocalLevelSmoother.sample(values: values, observed: observed, q: 1, r: 0.5, recorded: false, rng: &rng)
        }
        for t in [4, 5, 11] {
            let v = draws.map { $0[t] }
            let m = v.reduce(0, +) / Double(v.count)
            let s = v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count - 1)
            XCTAssertEqual(m, post.mean[t], accuracy: 4 * (post.variance[t] / Double(v.count)).squareRoot())
            XCTAssertEqual(s, post.variance[t], accuracy: 0.05 * post.variance[t])
        }
    }
}

final class LatentMonteCarloTests: XCTestCase {
    /// A template put onto its own exact image under a rotation (or a reflection), scale and offset comes back exact.
    func testSimilarityRecoversRotationAndReflection() {
        let T = 30
        var rng = Xoshiro256StarStar(seed: 1)
        let g = (0..<(2 * T)).map { _ in rng.normal() }
        let observed = (0..<T).map { $0 % 4 != 2 }
        for reflect in [false, true] {
            let angle = 0.7
            let s = 2.5
            let (c, n) = (cos(angle), sin(angle))
            var y = [[Double]](repeating: [Double](repeating: 0, count: T), count: 2)
            for t in 0..<T {
                let a = g[2 * t]
                let b = g[2 * t + 1]
                y[0][t] = 10 + s * (reflect ? c * a + n * b : c * a - n * b)
                y[1][t] = -3 + s * (reflect ? n * a - c * b : n * a + c * b)
            }
            let placed = LatentMonteCarlo.placeSimilarity(template: g, onto: y, observed: observed)
            for t in 0..<T {  // hidden frames too: the similarity is global
                XCTAssertEqual(placed[2 * t], y[0][t], accuracy: 1e-9)
                XCTAssertEqual(placed[2 * t + 1], y[1][t], accuracy: 1e-9)
            }
        }
    }

    /// Independent chains have an effective sample size near their length; AR(1) chains (φ = 0.8) near
    /// n(1−φ)/(1+φ).
    func testEffectiveSampleSize() {
        var rng = Xoshiro256StarStar(seed: 8)
        let iid = (0..<8).map { _ in (0..<500).map { _ in rng.normal() } }
        XCTAssertEqual(LatentMonteCarlo.effectiveSampleSize(iid), 4000, accuracy: 600)
        let phi = 0.8
        let ar = (0..<8).map { _ -> [Double] in
            var x = rng.normal() / (1 - phi * phi).squareRoot()
            return (0..<2000).map { _ in
                x = phi * x + rng.normal()
                return x
            }
        }
        let expected = 16000 * (1 - phi) / (1 + phi)
        XCTAssertEqual(LatentMonteCarlo.effectiveSampleSize(ar), expected, accuracy: 0.2 * expected)
        // Chains stuck in different places: the between-chain spread makes the estimate small.
        let stuck = (0..<8).map { c in (0..<500).map { _ in Double(c) + 0.01 * rng.normal() } }
        XCTAssertLessThan(LatentMonteCarlo.effectiveSampleSize(stuck), 10)
    }

    func testRefusesWhatItCannotServe() throws {
        let m = try model()
        let sampler = try LatentMonteCarlo(model: m, stepScale: [0.2, 0.2, 0.2])
        var rng = Xoshiro256StarStar(seed: 1)
        func message(_ positions: [Double]) -> String {
            do {
                _ = try sampler.fill(positions: positions, rng: &rng)
                return "accepted"
            } catch { return "\(error)" }
        }
        let (walk, _) = noisyWalk(length: 48, q: 1, r: 1, seed: 3)
        var sparse = walk
        for t in 0..<48 where t % 6 != 0 {  // 8 recorded frames: below the 10 needed
            sparse[2 * t] = .nan
            sparse[2 * t + 1] = .nan
        }
        XCTAssertTrue(message(sparse).contains("only 8 of 48 frames are recorded"), message(sparse))
        var infinite = walk
        infinite[10] = .infinity
        XCTAssertTrue(message(infinite).contains("non-finite"), message(infinite))
        var half = walk
        half[11] = .nan  // y lost, x kept
        XCTAssertTrue(message(half).contains("frame 5"), message(half))
        XCTAssertTrue(message(Array(walk[0..<5])).contains("T×2"), message(Array(walk[0..<5])))
        let (long, _) = noisyWalk(length: 60, q: 1, r: 1, seed: 3)
        XCTAssertTrue(message(long).contains("at most 48"), message(long))
        XCTAssertThrowsError(try LatentMonteCarlo(model: m, stepScale: [0.2, 0.2]))
        var bad = LatentMonteCarlo.Settings()
        bad.burnIn = bad.steps
        XCTAssertThrowsError(try LatentMonteCarlo(model: m, stepScale: [0.2, 0.2, 0.2], settings: bad))
    }

    /// Sampler settings of a small run.
    private func smallRun(chains: Int, steps: Int, burnIn: Int, completions: Int) -> LatentMonteCarlo.Settings {
        var s = LatentMonteCarlo.Settings()
        s.chains = chains
        s.steps = steps
        s.burnIn = burnIn
        s.completions = completions
        return s
    }

    /// Too short a run is reported as untrustworthy instead of returned as a confident answer.
    func testShortRunIsFlagged() throws {
        let settings = smallRun(chains: 2, steps: 7, burnIn: 2, completions: 2)
        let sampler = try LatentMonteCarlo(model: try model(), stepScale: [0.2, 0.2, 0.2], settings: settings)
        var (walk, _) = noisyWalk(length: 48, q: 1, r: 1, seed: 3)
        for t in 20..<30 {
            walk[2 * t] = .nan
            walk[2 * t + 1] = .nan
        }
        var rng = Xoshiro256StarStar(seed: 2)
        let result = try sampler.fill(positions: walk, rng: &rng)
        XCTAssertLessThan(result.effectiveSampleSize, settings.minimumEffectiveSampleSize)
        XCTAssertFalse(result.trustworthy)
        XCTAssertTrue(result.warnings.contains { $0.contains("effective sample size") }, "\(result.warnings)")
    }

    /// On a random walk seen through localisation noise (the residual model is then right), the band of the hidden
    /// frames covers close to its level, the posterior mean beats linear interpolation, recorded frames are kept
    /// exactly, and the same seed gives the same result bit for bit.
    func testCalibratedOnRandomWalkAndDeterministic() throws {
        let settings = smallRun(chains: 8, steps: 40, burnIn: 16, completions: 4)
        let sampler = try LatentMonteCarlo(model: try model(), stepScale: [0.2, 0.2, 0.2], settings: settings)
        var inside = 0
        var hidden = 0
        var errorLMC = 0.0
        var errorLinear = 0.0
        for trial in 0..<12 {
            let (recorded, _) = noisyWalk(length: 48, q: 1, r: 2, seed: 100 + UInt64(trial))
            var rng = Xoshiro256StarStar(seed: UInt64(trial))
            let observed = FrameLoss.random(fraction: 0.3).mask(length: 48, rng: &rng)
            let input = FrameLoss.hide(recorded, keeping: observed)
            let result = try sampler.fill(positions: input, rng: &rng)
            let (n, count) = FillMetrics.covered(
                lower: result.lower, upper: result.upper, truth: recorded, observed: observed)
            inside += n
            hidden += count
            errorLMC += FillMetrics.squaredError(result.mean, truth: recorded, observed: observed).sum
            let linear = (0..<2).map { a in
                LocalLevelSmoother.linearInterpolation((0..<48).map { recorded[2 * $0 + a] }, observed: observed)
            }
            errorLinear +=
                FillMetrics.squaredError(
                    (0..<96).map { linear[$0 % 2][$0 / 2] }, truth: recorded, observed: observed
                ).sum
            for t in 0..<48 where observed[t] {
                XCTAssertEqual(result.mean[2 * t], recorded[2 * t])
                XCTAssertEqual(result.completions[2 * t + 1], recorded[2 * t + 1])
            }
            for k in 0..<96 { XCTAssertLessThanOrEqual(result.lower[k], result.upper[k]) }
            if trial == 0 {
                var again = Xoshiro256StarStar(seed: UInt64(trial))
                _ = FrameLoss.random(fraction: 0.3).mask(length: 48, rng: &again)
                let repeated = try sampler.fill(positions: input, rng: &again)
                XCTAssertEqual(repeated.mean, result.mean)
                XCTAssertEqual(repeated.completions, result.completions)
                XCTAssertEqual(repeated.effectiveSampleSize, result.effectiveSampleSize)
            }
        }
        let coverage = Double(inside) / Double(hidden)
        XCTAssertGreaterThan(coverage, 0.84, "coverage \(coverage) of \(hidden)")
        XCTAssertLessThan(coverage, 0.96, "coverage \(coverage) of \(hidden)")
        XCTAssertLessThan(errorLMC, errorLinear)
    }
}

final class FrameLossTests: XCTestCase {
    func testMasks() throws {
        var rng = Xoshiro256StarStar(seed: 3)
        XCTAssertEqual(FrameLoss.random(fraction: 0.3).mask(length: 200, rng: &rng).filter { !$0 }.count, 60)
        let burst = FrameLoss.burst(fraction: 0.3, meanLength: 8).mask(length: 200, rng: &rng)
        XCTAssertEqual(burst.filter { !$0 }.count, 60)
        // Bursts: far fewer runs of lost frames than independent losses would give (~42 at 30 %).
        let runs = zip([true] + burst, burst).filter { $0 && !$1 }.count
        XCTAssertLessThan(runs, 20)
        XCTAssertEqual(
            FrameLoss.subsample(every: 4).mask(length: 9, rng: &rng),
            [true, false, false, false, true, false, false, false, true])
        XCTAssertEqual(try FrameLoss(parsing: "burst:0.2:5"), .burst(fraction: 0.2, meanLength: 5))
        XCTAssertEqual(try FrameLoss(parsing: "every:8"), .subsample(every: 8))
        for bad in ["random:1.5", "every:1", "burst:0.3:0", "gaps:3", "random"] {
            XCTAssertThrowsError(try FrameLoss(parsing: bad), bad)
        }
    }

    /// The MSD exponent of a random walk is near 1 and its VACF(1) near 0; of pure noise near 0 and −½.
    func testMotionStatistics() {
        let (_, walk) = noisyWalk(length: 4000, q: 1, r: 0, seed: 9)
        let a = FillMetrics.motion(walk)
        XCTAssertEqual(a.msdExponent, 1, accuracy: 0.1)
        XCTAssertEqual(a.vacf1, 0, accuracy: 0.05)
        var rng = Xoshiro256StarStar(seed: 1)
        let noise = (0..<8000).map { _ in rng.normal() }
        let b = FillMetrics.motion(noise)
        XCTAssertEqual(b.msdExponent, 0, accuracy: 0.1)
        XCTAssertEqual(b.vacf1, -0.5, accuracy: 0.05)
    }
}
