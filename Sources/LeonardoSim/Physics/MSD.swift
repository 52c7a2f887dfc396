import Foundation

/// Mean-squared displacement and anomalous-exponent estimates.
public enum MSD {
    /// Time-averaged MSD of one trajectory (T×2 interleaved) at lags 1…maxLag:
    /// δ²(τ) = Σ_{t<T−τ} |r_{t+τ} − r_t|² / (T − τ).
    public static func timeAveraged(_ r: UnsafePointer<Float>, length T: Int, maxLag: Int) -> [Double] {
        precondition(maxLag >= 1 && maxLag < T)
        var out = [Double](repeating: 0, count: maxLag)
        for tau in 1...maxLag {
            var s = 0.0
            for t in 0..<(T - tau) {
                let dx = Double(r[2 * (t + tau)]) - Double(r[2 * t])
                let dy = Double(r[2 * (t + tau) + 1]) - Double(r[2 * t + 1])
                s += dx * dx + dy * dy
            }
            out[tau - 1] = s / Double(T - tau)
        }
        return out
    }

    /// Least-squares slope of log MSD against log lag (lags `firstLag`, `firstLag`+1, …): the anomalous
    /// exponent α of MSD ∝ t^α. Non-positive MSD values are skipped; NaN when fewer than two remain.
    public static func exponent(_ msd: [Double], firstLag: Int = 1) -> Double {
        var sx = 0.0
        var sy = 0.0
        var sxx = 0.0
        var sxy = 0.0
        var n = 0.0
        for (i, m) in msd.enumerated() where m > 0 && m.isFinite {
            let x = Foundation.log(Double(firstLag + i))
            let y = Foundation.log(m)
            sx += x
            sy += y
            sxx += x * x
            sxy += x * y
            n += 1
        }
        guard n >= 2 else { return .nan }
        let den = n * sxx - sx * sx
        return den > 0 ? (n * sxy - sx * sy) / den : .nan
    }

    /// Ensemble MSD from the origin, ⟨|r_t − r_0|²⟩ over trajectories, for t = 1…T−1.
    public static func ensemble(_ set: TrajectorySet) -> [Double] {
        let T = set.length
        var out = [Double](repeating: 0, count: T - 1)
        for i in 0..<set.count {
            let b = i * T * 2
            for t in 1..<T {
                let dx = Double(set.trajectories[b + 2 * t]) - Double(set.trajectories[b])
                let dy = Double(set.trajectories[b + 2 * t + 1]) - Double(set.trajectories[b + 1])
                out[t - 1] += dx * dx + dy * dy
            }
        }
        return out.map { $0 / Double(set.count) }
    }
}
