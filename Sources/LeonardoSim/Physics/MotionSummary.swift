import Foundation

/// The summary statistics by which the LPTEM-like generator is calibrated against experimental trajectories
/// (issue: step-size distribution, VACF at lags 1–5, MSD exponent). Step sizes are pooled over all
/// trajectories; the VACF is the mean over trajectories of `TrajectoryStatistics.velocityAutocorrelation`;
/// the MSD exponent is the log-log slope of the ensemble-averaged time-averaged MSD over lags 1–10.
public struct MotionSummary: Equatable, Sendable {
    public var meanStep = 0.0, medianStep = 0.0, stepStd = 0.0, stepSkewness = 0.0, stepKurtosis = 0.0
    /// Fraction of steps longer than 3× the pooled median step.
    public var tailFraction = 0.0
    /// Mean VACF at lags 1…5.
    public var vacf: [Double] = []
    /// Exponent of the ensemble-averaged time-averaged MSD, lags 1…10.
    public var msdExponent = 0.0
    /// Stationarity in time: each trajectory's squared steps are divided by their mean, averaged over trajectories at
    /// each frame index, and this is the coefficient of variation of that profile over frames. About 1/√N for N
    /// stationary walks with Gaussian steps; large when the ensemble puts its large steps at the same frames.
    public var stepProfileVariation = 0.0

    public init(_ set: TrajectorySet) {
        let T = set.length
        let M = T - 1
        var sizes = [Double]()
        sizes.reserveCapacity(set.count * M)
        var vacf = [Double](repeating: 0, count: 5)
        let maxLag = min(10, T - 1)
        var tamsd = [Double](repeating: 0, count: maxLag)
        var profile = [Double](repeating: 0, count: M)
        var squares = [Double](repeating: 0, count: M)
        set.trajectories.withUnsafeBufferPointer { p in
            for i in 0..<set.count {
                let r = p.baseAddress! + i * T * 2
                for t in 0..<M {
                    let dx = Double(r[2 * t + 2]) - Double(r[2 * t])
                    let dy = Double(r[2 * t + 3]) - Double(r[2 * t + 1])
                    sizes.append((dx * dx + dy * dy).squareRoot())
                    squares[t] = dx * dx + dy * dy
                }
                let meanSquare = squares.reduce(0, +) / Double(M)
                if meanSquare > 0 { for t in 0..<M { profile[t] += squares[t] / meanSquare } }
                let stats = TrajectoryStatistics(trajectory: r, length: T)
                for l in 0..<min(5, stats.velocityAutocorrelation.count) { vacf[l] += stats.velocityAutocorrelation[l] }
                let m = MSD.timeAveraged(r, length: T, maxLag: maxLag)
                for l in 0..<maxLag { tamsd[l] += m[l] }
            }
        }
        let (mean, m2, m3, m4) = sizes.withUnsafeBufferPointer { centralMoments($0) }
        meanStep = mean
        stepStd = m2.squareRoot()
        stepSkewness = m2 > 0 ? m3 / pow(m2, 1.5) : 0
        stepKurtosis = m2 > 0 ? m4 / (m2 * m2) : 0
        let sorted = sizes.sorted()
        medianStep =
            sorted.count % 2 == 1
            ? sorted[sorted.count / 2] : 0.5 * (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2])
        tailFraction = Double(sizes.filter { $0 > 3 * medianStep }.count) / Double(sizes.count)
        self.vacf = vacf.map { $0 / Double(set.count) }
        msdExponent = MSD.exponent(tamsd)
        let pm = profile.reduce(0, +) / Double(M)
        let pv = profile.reduce(0) { $0 + ($1 - pm) * ($1 - pm) } / Double(M)
        stepProfileVariation = pm > 0 ? pv.squareRoot() / pm : 0
    }

    /// Rows (name, value) in a fixed order, for tables.
    public var rows: [(String, Double)] {
        [
            ("mean step", meanStep), ("median step", medianStep), ("step std", stepStd),
            ("step skewness", stepSkewness),
            ("step kurtosis", stepKurtosis), ("steps > 3×median", tailFraction)
        ]
            + vacf.enumerated().map { ("VACF lag \($0.offset + 1)", $0.element) } + [
                ("MSD exponent (lags 1–10)", msdExponent),
                ("step profile CV over frames", stepProfileVariation)
            ]
    }
}
