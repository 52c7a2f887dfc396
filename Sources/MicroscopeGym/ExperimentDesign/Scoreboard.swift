import Foundation
import LeonardoSim

/// Scores of agents across scenarios, reported as Agarwal et al. recommend ("Deep reinforcement learning at the edge
/// of the statistical precipice", NeurIPS 2021): each run's return normalised by the scenario's random and best
/// fixed settings, the interquartile mean over all runs (scenarios × seeds), and a stratified bootstrap confidence
/// interval (seeds resampled within each scenario).
public enum Scoreboard {
    /// (agent − random)/(best fixed − random): 0 is the random agent, 1 the best fixed setting of the sweep; NaN when
    /// the two baselines tie.
    public static func normalizedScore(agent: Double, random: Double, bestFixed: Double) -> Double {
        let span = bestFixed - random
        return span == 0 ? .nan : (agent - random) / span
    }

    /// The interquartile mean: the mean of the values left after dropping ⌊n/4⌋ of the smallest and ⌊n/4⌋ of the
    /// largest (SciPy's `trim_mean(x, 0.25)`, which rliable uses). NaN for no values.
    public static func interquartileMean(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        let cut = sorted.count / 4
        let middle = sorted[cut..<(sorted.count - cut)]
        return middle.reduce(0, +) / Double(middle.count)
    }

    /// A percentile bootstrap interval of the interquartile mean over `runs` (one array of run scores per scenario):
    /// each replicate resamples every scenario's runs with replacement, keeping the number per scenario.
    public static func bootstrapInterval(
        _ runs: [[Double]], replicates: Int = 2_000, confidence: Double = 0.95, seed: UInt64 = 0
    ) -> (low: Double, high: Double) {
        let groups = runs.filter { !$0.isEmpty }
        guard !groups.isEmpty, replicates >= 1 else { return (.nan, .nan) }
        var rng = Xoshiro256StarStar(seed: seed)
        var iqms = [Double](repeating: 0, count: replicates)
        var sample: [Double] = []
        sample.reserveCapacity(groups.reduce(0) { $0 + $1.count })
        for r in 0..<replicates {
            sample.removeAll(keepingCapacity: true)
            for g in groups { for _ in g.indices { sample.append(g[rng.uniformInt(g.count)]) } }
            iqms[r] = interquartileMean(sample)
        }
        iqms.sort()
        func quantile(_ q: Double) -> Double {
            // Linear interpolation between order statistics (NumPy's default).
            let h = q * Double(replicates - 1)
            let lo = Int(h.rounded(.down))
            let hi = min(lo + 1, replicates - 1)
            return iqms[lo] + (h - Double(lo)) * (iqms[hi] - iqms[lo])
        }
        let tail = (1 - confidence) / 2
        return (quantile(tail), quantile(1 - tail))
    }
}
