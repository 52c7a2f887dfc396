import Foundation

/// Completions judged against frames that were recorded and then hidden: for each frame-loss scenario and each
/// trajectory, hide frames, fill them by latent Monte Carlo and by four baselines, and score every method on the
/// hidden frames. The baselines: linear interpolation; the Brownian bridge (its mean *is* the linear interpolation, so
/// only its band differs); the Kalman smoother of a random walk seen through localisation noise with (q, r) fitted
/// to the recorded frames (`LocalLevelSmoother`); and fractional Brownian motion through localisation noise
/// (`FractionalNoise`, maximum a posteriori under the sampler's prior), the latent Monte Carlo's default residual
/// without the decoder.
public enum FillValidation {
    /// The methods scored, in table order.
    public static let methods = [
        "latent Monte Carlo", "random walk + noise smoother", "linear interpolation",
        "Brownian bridge", "fBm + noise (no decoder)"
    ]

    /// One trajectory under one scenario.
    public struct Case: Codable, Equatable, Sendable {
        /// Index of the trajectory in the validated set.
        public var trajectory: Int
        /// Hidden coordinates scored (2 per hidden frame).
        public var hiddenCoordinates: Int
        /// RMSE over the hidden coordinates, per method (`methods` order).
        public var rmse: [Double]
        /// Share of hidden coordinates inside the band, per method (linear interpolation has no band: NaN).
        public var coverage: [Double]
        /// MSD exponent and VACF(1): the true trajectory, a latent Monte Carlo completion, its posterior mean, the
        /// linear interpolation.
        public var msdExponent: [Double]
        public var vacf1: [Double]
        public var acceptanceRate: Double
        public var effectiveSampleSize: Double
        /// Per latent coordinate, then the log target.
        public var effectiveSampleSizes: [Double]
        public var stepMultiplier: Double
        /// Posterior spread of each latent coordinate (the prior's is 1).
        public var latentSpread: [Double]
        public var trustworthy: Bool
    }

    /// One scenario over every trajectory.
    public struct Scenario: Codable, Equatable, Sendable {
        public var loss: String
        public var cases: [Case]

        /// Mean over trajectories of per-trajectory RMSE, per method.
        public var meanRMSE: [Double] {
            (0..<FillValidation.methods.count).map { m in cases.map { $0.rmse[m] }.reduce(0, +) / Double(cases.count) }
        }

        /// Pooled coverage over every hidden coordinate, per method.
        public var pooledCoverage: [Double] {
            let total = Double(cases.map(\.hiddenCoordinates).reduce(0, +))
            return (0..<FillValidation.methods.count).map { m in
                cases.map { $0.coverage[m] * Double($0.hiddenCoordinates) }.reduce(0, +) / total
            }
        }

        /// Mean and 95 % interval (t-based) of the paired per-trajectory RMSE difference method a − method b.
        public func pairedRMSEDifference(_ a: Int, _ b: Int) -> (mean: Double, halfWidth: Double) {
            pairedInterval(cases.map { $0.rmse[a] - $0.rmse[b] })
        }
    }

    /// Runs every scenario on every trajectory (each T×2, fully recorded, T ≤ the model's length). Masks come from
    /// `seed` (scenario and trajectory mixed in), so a rerun is bit-identical. `progress` is called after each case.
    public static func run(
        sampler: LatentMonteCarlo, trajectories: [[Double]], losses: [FrameLoss], seed: UInt64,
        progress: ((Int) -> Void)? = nil
    ) throws -> [Scenario] {
        let z = normalQuantile(1 - (1 - sampler.settings.bandLevel) / 2)
        var done = 0
        var out = [Scenario]()
        for (s, loss) in losses.enumerated() {
            var cases = [Case]()
            for (i, truth) in trajectories.enumerated() {
                let T = truth.count / 2
                var rng = Xoshiro256StarStar(seed: seed &+ UInt64(s) &* 1_000_003 &+ UInt64(i) &* 7919)
                let observed = loss.mask(length: T, rng: &rng)
                let filled = try sampler.fill(positions: FrameLoss.hide(truth, keeping: observed), rng: &rng)
                let axes = (0..<2).map { a in (0..<T).map { truth[2 * $0 + a] } }
                func interleave(_ axes: [[Double]]) -> [Double] { (0..<(2 * T)).map { axes[$0 % 2][$0 / 2] } }
                let linear = interleave(axes.map { LocalLevelSmoother.linearInterpolation($0, observed: observed) })
                let bridge = LocalLevelSmoother.brownianBridge(axes: axes, observed: observed)
                let bridgeSD = bridge.variance.map { $0.squareRoot() }
                let fit = LocalLevelSmoother.fit(axes: axes, observed: observed)
                let smoothed = axes.map {
                    LocalLevelSmoother.smooth(values: $0, observed: observed, q: fit.q, r: fit.r)
                }
                var smoother = interleave(smoothed.map(\.mean))
                var smootherLow = smoother
                var smootherHigh = smoother
                var bridgeLow = linear
                var bridgeHigh = linear
                for t in 0..<T {
                    for a in 0..<2 {
                        if observed[t] {
                            smoother[2 * t + a] = truth[2 * t + a]
                            smootherLow[2 * t + a] = truth[2 * t + a]
                            smootherHigh[2 * t + a] = truth[2 * t + a]
                            continue
                        }
                        let sd = (smoothed[a].variance[t] + fit.r).squareRoot()
                        smootherLow[2 * t + a] = smoother[2 * t + a] - z * sd
                        smootherHigh[2 * t + a] = smoother[2 * t + a] + z * sd
                        bridgeLow[2 * t + a] = linear[2 * t + a] - z * bridgeSD[t]
                        bridgeHigh[2 * t + a] = linear[2 * t + a] + z * bridgeSD[t]
                    }
                }
                var fractional = smoother
                var fractionalLow = smoother
                var fractionalHigh = smoother
                if let model = FractionalNoise.fit(axes: axes, observed: observed, prior: sampler.residualPrior)?.model,
                    let c = FractionalNoise.Conditioned(model: model, observed: observed)
                {
                    let sd = c.variance.map { ($0 + model.noiseVariance).squareRoot() }
                    for a in 0..<2 {
                        let m = c.mean(axes[a])
                        for t in 0..<T {
                            let v = observed[t] ? truth[2 * t + a] : m[t]
                            fractional[2 * t + a] = v
                            fractionalLow[2 * t + a] = observed[t] ? v : v - z * sd[t]
                            fractionalHigh[2 * t + a] = observed[t] ? v : v + z * sd[t]
                        }
                    }
                } else {
                    fractional = [Double](repeating: .nan, count: 2 * T)
                }
                let estimates = [filled.mean, smoother, linear, linear, fractional]
                let rmse = estimates.map { e -> Double in
                    let (sum, n) = FillMetrics.squaredError(e, truth: truth, observed: observed)
                    return (sum / Double(max(n, 1))).squareRoot()
                }
                func share(_ lo: [Double], _ hi: [Double]) -> Double {
                    let (inside, n) = FillMetrics.covered(lower: lo, upper: hi, truth: truth, observed: observed)
                    return Double(inside) / Double(max(n, 1))
                }
                let coverage = [
                    share(filled.lower, filled.upper), share(smootherLow, smootherHigh), .nan,
                    share(bridgeLow, bridgeHigh), share(fractionalLow, fractionalHigh)
                ]
                let draw = Array(filled.completions[0..<(2 * T)])
                let motions = [truth, draw, filled.mean, linear].map(FillMetrics.motion)
                cases.append(
                    Case(
                        trajectory: i, hiddenCoordinates: 2 * observed.filter { !$0 }.count, rmse: rmse,
                        coverage: coverage, msdExponent: motions.map(\.msdExponent), vacf1: motions.map(\.vacf1),
                        acceptanceRate: filled.acceptanceRate, effectiveSampleSize: filled.effectiveSampleSize,
                        effectiveSampleSizes: filled.effectiveSampleSizes, stepMultiplier: filled.stepMultiplier,
                        latentSpread: filled.latentSpread, trustworthy: filled.trustworthy))
                done += 1
                progress?(done)
            }
            out.append(Scenario(loss: loss.description, cases: cases))
        }
        return out
    }

    /// Mean and 95 % half-width (Student t) of a sample.
    public static func pairedInterval(_ d: [Double]) -> (mean: Double, halfWidth: Double) {
        let n = Double(d.count)
        guard d.count >= 2 else { return (d.first ?? .nan, .nan) }
        let m = d.reduce(0, +) / n
        let sd = (d.map { ($0 - m) * ($0 - m) }.reduce(0, +) / (n - 1)).squareRoot()
        return (m, studentT975(d.count - 1) * sd / n.squareRoot())
    }

    /// The 97.5 % quantile of Student's t with `dof` degrees of freedom (Cornish–Fisher expansion; exact to 1e-3 for
    /// dof ≥ 3, and the table value below).
    static func studentT975(_ dof: Int) -> Double {
        let table = [12.706, 4.303, 3.182]
        if dof >= 1 && dof <= 3 { return table[dof - 1] }
        let z = 1.959964
        let v = Double(dof)
        let g1 = (z * z * z + z) / 4
        let g2 = (5 * pow(z, 5) + 16 * z * z * z + 3 * z) / 96
        let g3 = (3 * pow(z, 7) + 19 * pow(z, 5) + 17 * z * z * z - 15 * z) / 384
        return z + g1 / v + g2 / (v * v) + g3 / (v * v * v)
    }

    /// Φ⁻¹(p) by bisection on erfc (only used for band multipliers).
    public static func normalQuantile(_ p: Double) -> Double {
        var lo = -10.0
        var hi = 10.0
        for _ in 0..<80 {
            let mid = (lo + hi) / 2
            if 0.5 * erfc(-mid / 2.0.squareRoot()) < p { lo = mid } else { hi = mid }
        }
        return (lo + hi) / 2
    }
}
