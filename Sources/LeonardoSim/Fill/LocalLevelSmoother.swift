import Foundation

/// The random walk seen through localisation noise, the simplest physical model of a tracked particle in a liquid
/// cell: per axis, the position follows x_t = x_{t−1} + w_t with w_t ~ N(0, q) (free diffusion, q = 2DΔt per frame)
/// and the tracker records y_t = x_t + v_t with v_t ~ N(0, r) (localisation precision σ = √r). Frames that were not
/// recorded are missing from y. The Kalman filter gives the exact likelihood of the recorded frames; the
/// Rauch–Tung–Striebel smoother the exact Gaussian posterior of every frame (Durbin & Koopman, *Time Series Analysis by
/// State Space Methods*, 2nd ed., ch. 2: the local level model). With r = 0 it is the Brownian bridge between recorded
/// frames. docs/between-frames.md.
///
/// Both axes share (q, r): in-plane diffusion is isotropic. All arithmetic in double precision.
public enum LocalLevelSmoother {
    /// Variance of the diffuse initial state, relative to the data's own variance (an exact diffuse start is the limit).
    static let diffuseScale = 1e7

    /// The smoothed posterior of every frame of one axis and the log-likelihood of its recorded frames.
    public struct Posterior: Equatable, Sendable {
        /// Posterior mean of the position x_t (the particle, not the recording), per frame.
        public var mean: [Double]
        /// Posterior variance of x_t, per frame (add r for the variance of what the tracker would have recorded).
        public var variance: [Double]
        /// log p(recorded frames | q, r), diffuse in the first recorded frame (its term is left out).
        public var logLikelihood: Double
    }

    /// Filters and smooths one axis. `values` has one entry per frame (ignored where `observed` is false).
    public static func smooth(values: [Double], observed: [Bool], q: Double, r: Double) -> Posterior {
        let T = values.count
        precondition(observed.count == T && T > 0)
        var spread = 1.0
        var count = 0.0
        var sum = 0.0
        var sumSquares = 0.0
        for t in 0..<T where observed[t] {
            count += 1
            sum += values[t]
            sumSquares += values[t] * values[t]
        }
        if count > 1 { spread = max(sumSquares / count - (sum / count) * (sum / count), 0) + q + r + 1e-12 }
        let kappa = diffuseScale * spread
        var filteredMean = [Double](repeating: 0, count: T)
        var filteredVariance = [Double](repeating: 0, count: T)
        var predictedVariance = [Double](repeating: 0, count: T)
        var a = 0.0
        var P = kappa
        var logLikelihood = 0.0
        var seenFirst = false
        for t in 0..<T {
            if t > 0 { P += q }
            predictedVariance[t] = P
            if observed[t] {
                let F = P + r
                let v = values[t] - a
                if seenFirst {
                    logLikelihood -= 0.5 * (log(2 * Double.pi * F) + v * v / F)
                }
                seenFirst = true
                let K = P / F
                a += K * v
                P = P * (1 - K)
                if P < 0 { P = 0 }
            }
            filteredMean[t] = a
            filteredVariance[t] = P
        }
        var mean = filteredMean
        var variance = filteredVariance
        if T > 1 {
            for t in stride(from: T - 2, through: 0, by: -1) {
                let next = predictedVariance[t + 1]
                let J = next > 0 ? filteredVariance[t] / next : 0
                mean[t] = filteredMean[t] + J * (mean[t + 1] - filteredMean[t])
                variance[t] = max(filteredVariance[t] + J * J * (variance[t + 1] - next), 0)
            }
        }
        return Posterior(mean: mean, variance: variance, logLikelihood: logLikelihood)
    }

    /// A draw of the positions x_t of one axis from their joint posterior (forward filtering, backward sampling), plus
    /// fresh localisation noise N(0, r) on every frame when `recorded` is true (a draw of what the tracker would record).
    public static func sample(
        values: [Double], observed: [Bool], q: Double, r: Double, recorded: Bool, rng: inout Xoshiro256StarStar
    ) -> [Double] {
        let T = values.count
        var filteredMean = [Double](repeating: 0, count: T)
        var filteredVariance = [Double](repeating: 0, count: T)
        var spread = 1.0
        let recordedValues = (0..<T).filter { observed[$0] }.map { values[$0] }
        if recordedValues.count > 1 {
            let m = recordedValues.reduce(0, +) / Double(recordedValues.count)
            spread = recordedValues.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(recordedValues.count) + q + r
        }
        var a = 0.0
        var P = diffuseScale * spread
        for t in 0..<T {
            if t > 0 { P += q }
            if observed[t] {
                let K = P / (P + r)
                a += K * (values[t] - a)
                P = max(P * (1 - K), 0)
            }
            filteredMean[t] = a
            filteredVariance[t] = P
        }
        var x = [Double](repeating: 0, count: T)
        x[T - 1] = filteredMean[T - 1] + filteredVariance[T - 1].squareRoot() * rng.normal()
        if T > 1 {
            for t in stride(from: T - 2, through: 0, by: -1) {
                // x_t | x_{t+1}, y_{0…t}: the filtered Gaussian conditioned on the next state through x_{t+1} = x_t + w.
                let P = filteredVariance[t]
                let gain = P / (P + q)
                let m = filteredMean[t] + gain * (x[t + 1] - filteredMean[t])
                let v = max(P * (1 - gain), 0)
                x[t] = m + v.squareRoot() * rng.normal()
            }
        }
        if recorded && r > 0 {
            let s = r.squareRoot()
            for t in 0..<T { x[t] += s * rng.normal() }
        }
        return x
    }

    /// Maximum-likelihood (q, r) shared by the axes, the concentrated likelihood maximised over the ratio λ = q/r on a
    /// log grid refined by golden-section search (the scale has a closed form given λ). Returns the joint
    /// log-likelihood at the optimum. Needs at least three recorded frames.
    public static func fit(axes: [[Double]], observed: [Bool]) -> (q: Double, r: Double, logLikelihood: Double) {
        // Concentrated log-likelihood in log λ: with r = 1, q = λ the innovations v and variances F give
        // σ̂² = Σ v²/F / n and ℓ = −½ (n log 2πσ̂² + Σ log F + n).
        func profile(_ logLambda: Double) -> (value: Double, scale: Double) {
            let lambda = exp(logLambda)
            var n = 0.0
            var sumSquares = 0.0
            var sumLogF = 0.0
            for y in axes {
                let (s, l, m) = innovations(values: y, observed: observed, q: lambda, r: 1)
                sumSquares += s
                sumLogF += l
                n += m
            }
            guard n > 0, sumSquares > 0 else { return (-.infinity, 0) }
            let scale = sumSquares / n
            return (-0.5 * (n * log(2 * Double.pi * scale) + sumLogF + n), scale)
        }
        let grid = stride(from: -7.0, through: 9.0, by: 1.0).map { $0 * log(10) / 2 }  // λ from 10^-3.5 to 10^4.5
        var best = 0
        var values = grid.map { profile($0).value }
        for i in values.indices where values[i] > values[best] { best = i }
        // Golden-section search on the bracket around the best grid point.
        var lo = grid[max(best - 1, 0)]
        var hi = grid[min(best + 1, grid.count - 1)]
        let g = (5.0.squareRoot() - 1) / 2
        var c = hi - g * (hi - lo)
        var d = lo + g * (hi - lo)
        var fc = profile(c).value
        var fd = profile(d).value
        for _ in 0..<30 {
            if fc > fd {
                hi = d
                d = c
                fd = fc
                c = hi - g * (hi - lo)
                fc = profile(c).value
            } else {
                lo = c
                c = d
                fc = fd
                d = lo + g * (hi - lo)
                fd = profile(d).value
            }
        }
        let logLambda = (lo + hi) / 2
        let (value, scale) = profile(logLambda)
        values.append(value)
        if value >= values[best] {
            return (exp(logLambda) * scale, scale, value)
        }
        let (v, s) = profile(grid[best])
        return (exp(grid[best]) * s, s, v)
    }

    /// Σ v²/F, Σ log F and the count over the recorded frames after the first (the diffuse one), for (q, r).
    static func innovations(values: [Double], observed: [Bool], q: Double, r: Double) -> (Double, Double, Double) {
        var a = 0.0
        var P = 0.0
        var started = false
        var sumSquares = 0.0
        var sumLogF = 0.0
        var n = 0.0
        for t in 0..<values.count {
            if started { P += q }
            guard observed[t] else { continue }
            if !started {
                // The exact diffuse start: after the first recorded frame the state is N(y, r).
                a = values[t]
                P = r
                started = true
                continue
            }
            let F = P + r
            let v = values[t] - a
            sumSquares += v * v / F
            sumLogF += log(F)
            n += 1
            let K = P / F
            a += K * v
            P *= 1 - K
        }
        return (sumSquares, sumLogF, n)
    }

    /// The Brownian bridge between recorded frames (no localisation noise): per axis the mean is the linear
    /// interpolation (the nearest recorded value beyond the first and last), the variance q·(t−a)(b−t)/(b−a) between
    /// recorded frames a < t < b and q·distance beyond them, with q = the mean squared step per frame of the recorded
    /// frames (each gap's squared displacement divided by its length), shared by the axes.
    public static func brownianBridge(axes: [[Double]], observed: [Bool]) -> (mean: [[Double]], variance: [Double]) {
        let T = observed.count
        let recorded = (0..<T).filter { observed[$0] }
        var sum = 0.0
        var frames = 0.0
        for (a, b) in zip(recorded, recorded.dropFirst()) {
            for y in axes { sum += (y[b] - y[a]) * (y[b] - y[a]) }
            frames += Double(b - a) * Double(axes.count)
        }
        let q = frames > 0 ? sum / frames : 0
        var variance = [Double](repeating: 0, count: T)
        let means = axes.map { linearInterpolation($0, observed: observed) }
        guard let first = recorded.first, let last = recorded.last else { return (means, variance) }
        var k = 0
        for t in 0..<T where !observed[t] {
            if t < first {
                variance[t] = q * Double(first - t)
            } else if t > last {
                variance[t] = q * Double(t - last)
            } else {
                while recorded[k + 1] < t { k += 1 }
                let a = recorded[k]
                let b = recorded[k + 1]
                variance[t] = q * Double(t - a) * Double(b - t) / Double(b - a)
            }
        }
        return (means, variance)
    }

    /// Linear interpolation between recorded frames, holding the nearest recorded value beyond the first and last.
    public static func linearInterpolation(_ y: [Double], observed: [Bool]) -> [Double] {
        let T = y.count
        let recorded = (0..<T).filter { observed[$0] }
        guard let first = recorded.first, let last = recorded.last else { return y }
        var out = y
        var k = 0
        for t in 0..<T where !observed[t] {
            if t < first {
                out[t] = y[first]
            } else if t > last {
                out[t] = y[last]
            } else {
                while recorded[k + 1] < t { k += 1 }
                let a = recorded[k]
                let b = recorded[k + 1]
                let w = Double(t - a) / Double(b - a)
                out[t] = (1 - w) * y[a] + w * y[b]
            }
        }
        return out
    }
}
