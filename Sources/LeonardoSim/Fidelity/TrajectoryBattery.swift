import Foundation

/// A battery of per-trajectory statistics that a generator must match to pass for real motion, each chosen because
/// a generated trajectory can get it wrong while its ensemble MSD and VACF look right: isotropy (free in-plane
/// diffusion has no preferred axis), the coupling of the axes, how straight and how intermittent the path is, the
/// tails of the step law, short-lag memory, the shape of the covered region, the largest jump, and the step size
/// itself (whose spread between trajectories measures diversity). Computed on paper-normalised trajectories (shift
/// to min 0, divide by the largest coordinate: Shabeb & Jamali, eq. 6), so files in nm and LEONARDO's output compare
/// alike; every statistic but `log_mean_step` is invariant to that scaling. docs/fidelity.md defines each.
public enum TrajectoryBattery {
    /// Names of the statistics, in the order `statistics(_:length:)` returns them.
    public static let names = [
        "log_xy_step_std_ratio", "x_range_longer", "xy_step_correlation", "straightness", "slow_frame_share",
        "step_kurtosis", "vacf_1", "vacf_2", "msd_exponent", "gyration_anisotropy", "largest_step_ratio",
        "log_mean_step"
    ]

    /// The statistics of one trajectory of `length` frames (x, y interleaved), `names`' order. Degenerate inputs (no
    /// motion on an axis) give finite values (ratios of zero spreads count as 1).
    public static func statistics(_ r: ArraySlice<Float>, length T: Int) -> [Double] {
        precondition(r.count == 2 * T && T >= 12, "a trajectory of at least 12 frames, x and y interleaved")
        let base = r.startIndex
        var xs = [Double](repeating: 0, count: T)
        var ys = [Double](repeating: 0, count: T)
        for t in 0..<T {
            xs[t] = Double(r[base + 2 * t])
            ys[t] = Double(r[base + 2 * t + 1])
        }
        // Paper normalisation.
        let (minX, maxX) = (xs.min()!, xs.max()!)
        let (minY, maxY) = (ys.min()!, ys.max()!)
        let scale = max(maxX - minX, maxY - minY, 1e-30)
        for t in 0..<T {
            xs[t] = (xs[t] - minX) / scale
            ys[t] = (ys[t] - minY) / scale
        }
        let n = T - 1
        var dx = [Double](repeating: 0, count: n)
        var dy = [Double](repeating: 0, count: n)
        var step = [Double](repeating: 0, count: n)
        for t in 0..<n {
            dx[t] = xs[t + 1] - xs[t]
            dy[t] = ys[t + 1] - ys[t]
            step[t] = (dx[t] * dx[t] + dy[t] * dy[t]).squareRoot()
        }
        func mean(_ v: [Double]) -> Double { v.reduce(0, +) / Double(v.count) }
        let mx = mean(dx)
        let my = mean(dy)
        var sxx = 0.0
        var syy = 0.0
        var sxy = 0.0
        var m4 = 0.0
        for t in 0..<n {
            let (a, b) = (dx[t] - mx, dy[t] - my)
            sxx += a * a
            syy += b * b
            sxy += a * b
            m4 += a * a * a * a + b * b * b * b
        }
        let tiny = 1e-300
        let stdRatio = sxx > tiny && syy > tiny ? 0.5 * Foundation.log(sxx / syy) : 0
        let correlation = sxx > tiny && syy > tiny ? sxy / (sxx * syy).squareRoot() : 0
        let m2 = (sxx + syy) / Double(2 * n)
        let kurtosis = m2 > tiny ? (m4 / Double(2 * n)) / (m2 * m2) : 3
        let pathLength = step.reduce(0, +)
        let endToEnd = ((xs[T - 1] - xs[0]) * (xs[T - 1] - xs[0]) + (ys[T - 1] - ys[0]) * (ys[T - 1] - ys[0]))
            .squareRoot()
        let straightness = pathLength > tiny ? endToEnd / pathLength : 0
        let meanStep = pathLength / Double(n)
        let slow = meanStep > tiny ? Double(step.filter { $0 < 0.3 * meanStep }.count) / Double(n) : 1
        let largest = meanStep > tiny ? step.max()! / meanStep : 1
        // Velocity autocorrelation of the steps, normalised by lag 0: C(k)/C(0), C(k) = mean_t d_t · d_{t+k}.
        func velocityCorrelation(_ k: Int) -> Double {
            var c0 = 0.0
            var ck = 0.0
            for t in 0..<n { c0 += dx[t] * dx[t] + dy[t] * dy[t] }
            for t in 0..<(n - k) { ck += dx[t] * dx[t + k] + dy[t] * dy[t + k] }
            return c0 > tiny ? (ck / Double(n - k)) / (c0 / Double(n)) : 0
        }
        // Time-averaged MSD exponent over lags 1–10 (least squares in log–log).
        var sumLag = 0.0
        var sumMSD = 0.0
        var sumLag2 = 0.0
        var sumLagMSD = 0.0
        let lags = min(10, T / 4)
        for lag in 1...lags {
            var msd = 0.0
            for t in 0..<(T - lag) {
                let (a, b) = (xs[t + lag] - xs[t], ys[t + lag] - ys[t])
                msd += a * a + b * b
            }
            let (u, v) = (Foundation.log(Double(lag)), Foundation.log(max(msd / Double(T - lag), tiny)))
            sumLag += u
            sumMSD += v
            sumLag2 += u * u
            sumLagMSD += u * v
        }
        let L = Double(lags)
        let exponent = (L * sumLagMSD - sumLag * sumMSD) / max(L * sumLag2 - sumLag * sumLag, tiny)
        // Gyration tensor anisotropy ((λ1 − λ2)/(λ1 + λ2))² = ((gxx − gyy)² + 4 gxy²)/(gxx + gyy)².
        let (cx, cy) = (mean(xs), mean(ys))
        var gxx = 0.0
        var gyy = 0.0
        var gxy = 0.0
        for t in 0..<T {
            gxx += (xs[t] - cx) * (xs[t] - cx)
            gyy += (ys[t] - cy) * (ys[t] - cy)
            gxy += (xs[t] - cx) * (ys[t] - cy)
        }
        let trace = gxx + gyy
        let anisotropy = trace > tiny ? ((gxx - gyy) * (gxx - gyy) + 4 * gxy * gxy) / (trace * trace) : 0
        return [
            stdRatio, (maxX - minX) > (maxY - minY) ? 1 : 0, correlation, straightness, slow, kurtosis,
            velocityCorrelation(1), velocityCorrelation(2), exponent, anisotropy, largest,
            Foundation.log(max(meanStep, tiny))
        ]
    }

    /// The statistics of every trajectory of `set`: count × `names.count`, row-major.
    public static func statistics(of set: TrajectorySet) -> [[Double]] {
        let T = set.length
        return (0..<set.count).map { i in statistics(set.trajectories[(i * 2 * T)..<((i + 1) * 2 * T)], length: T) }
    }

    /// The two-sample Kolmogorov–Smirnov distance sup_x |F_a(x) − F_b(x)| of two samples (0 … 1).
    public static func ksDistance(_ a: [Double], _ b: [Double]) -> Double {
        guard !a.isEmpty, !b.isEmpty else { return .nan }
        let sa = a.sorted()
        let sb = b.sorted()
        var (i, j) = (0, 0)
        var d = 0.0
        while i < sa.count && j < sb.count {
            let x = min(sa[i], sb[j])
            while i < sa.count && sa[i] <= x { i += 1 }
            while j < sb.count && sb[j] <= x { j += 1 }
            d = max(d, abs(Double(i) / Double(sa.count) - Double(j) / Double(sb.count)))
        }
        return d
    }
}

/// A classifier two-sample test (Lopez-Paz & Oquab, ICLR 2017) with an L2-regularised logistic regression on
/// standardised features: fit on one pair of samples, score the accuracy on a fresh pair. An accuracy near 0.5 says
/// the discriminator cannot tell the sets apart; its weights say which features separate them.
public struct LogisticTwoSampleTest {
    /// Standardisation (from the fitting samples) and the weights (bias last) of the fitted discriminator.
    public let mean: [Double], scale: [Double], weights: [Double]

    /// Fits "b" (label 1) against "a" (label 0) by Newton's method; rows are feature vectors of equal length.
    public init(fitting a: [[Double]], against b: [[Double]], l2: Double = 1e-3) {
        let rows = a + b
        let d = rows.first?.count ?? 0
        var mean = [Double](repeating: 0, count: d)
        var scale = [Double](repeating: 1, count: d)
        for j in 0..<d {
            let column = rows.map { $0[j] }
            let m = column.reduce(0, +) / Double(max(column.count, 1))
            let v = column.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(max(column.count - 1, 1))
            mean[j] = m
            scale[j] = v > 1e-24 ? v.squareRoot() : 1
        }
        let x = rows.map { row in (0..<d).map { (row[$0] - mean[$0]) / scale[$0] } + [1] }
        let y = [Double](repeating: 0, count: a.count) + [Double](repeating: 1, count: b.count)
        let p = d + 1
        var w = [Double](repeating: 0, count: p)
        for _ in 0..<50 {
            var gradient = [Double](repeating: 0, count: p)
            var hessian = [Double](repeating: 0, count: p * p)
            for (xi, yi) in zip(x, y) {
                let z = zip(xi, w).map { $0 * $1 }.reduce(0, +)
                let q = 1 / (1 + Foundation.exp(-z))
                for j in 0..<p {
                    gradient[j] += (q - yi) * xi[j]
                    for k in 0..<p { hessian[j * p + k] += q * (1 - q) * xi[j] * xi[k] }
                }
            }
            for j in 0..<(p - 1) {
                gradient[j] += l2 * Double(x.count) * w[j]
                hessian[j * p + j] += l2 * Double(x.count)
            }
            for j in 0..<p { hessian[j * p + j] += 1e-9 }
            guard let delta = LogisticTwoSampleTest.solve(hessian, gradient, p) else { break }
            for j in 0..<p { w[j] -= delta[j] }
            if delta.map(abs).max() ?? 0 < 1e-10 { break }
        }
        self.mean = mean
        self.scale = scale
        weights = w
    }

    /// P(label 1 | row).
    public func probability(_ row: [Double]) -> Double {
        var z = weights.last ?? 0
        for j in 0..<mean.count { z += weights[j] * (row[j] - mean[j]) / scale[j] }
        return 1 / (1 + Foundation.exp(-z))
    }

    /// Accuracy on fresh samples (a: label 0, b: label 1), with the number scored.
    public func accuracy(_ a: [[Double]], _ b: [[Double]]) -> (accuracy: Double, count: Int) {
        let correct = a.filter { probability($0) < 0.5 }.count + b.filter { probability($0) >= 0.5 }.count
        return (Double(correct) / Double(max(a.count + b.count, 1)), a.count + b.count)
    }

    /// The Wilson score 95 % interval of a proportion `p` of `n` trials.
    public static func wilsonInterval(_ p: Double, _ n: Int) -> (low: Double, high: Double) {
        guard n > 0 else { return (0, 1) }
        let z = 1.959963984540054
        let nn = Double(n)
        let centre = (p + z * z / (2 * nn)) / (1 + z * z / nn)
        let half = z * (p * (1 - p) / nn + z * z / (4 * nn * nn)).squareRoot() / (1 + z * z / nn)
        return (max(0, centre - half), min(1, centre + half))
    }

    /// Solves the symmetric positive-definite system H·x = g (by `choleskyLower`), or nil.
    static func solve(_ h: [Double], _ g: [Double], _ p: Int) -> [Double]? {
        guard let l = try? choleskyLower(h, p) else { return nil }
        var y = [Double](repeating: 0, count: p)
        for i in 0..<p {
            var s = g[i]
            for k in 0..<i { s -= l[i * p + k] * y[k] }
            y[i] = s / l[i * p + i]
        }
        var x = [Double](repeating: 0, count: p)
        for i in stride(from: p - 1, through: 0, by: -1) {
            var s = y[i]
            for k in (i + 1)..<p { s -= l[k * p + i] * x[k] }
            x[i] = s / l[i * p + i]
        }
        return x
    }
}
