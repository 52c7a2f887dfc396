import Foundation
import LeonardoSim

/// How much adapting can gain in a scenario, and how much of it a policy gains: the best fixed setting, the
/// hindsight per-particle bound and any number of policies, all on the same episode seeds, each compared with the
/// best fixed setting episode by episode (paired differences, so the particle-to-particle spread cancels).
public struct Headroom: Sendable {
    /// One strategy's returns and its paired comparison with the best fixed setting.
    public struct Row: Equatable, Sendable {
        public var label: String
        public var episodeReturn: Estimate
        /// Return minus the best fixed setting's, per episode seed.
        public var gainOverBestFixed: Estimate
        /// `gainOverBestFixed.mean` as a fraction of |best fixed mean return|.
        public var relativeGain: Double
        /// `gainOverBestFixed.mean` as a fraction of the hindsight bound's mean gain (nil when that is not positive).
        public var shareOfHindsightGain: Double?
    }

    public var environment: String
    public var episodes: Int
    public var seed: UInt64
    /// The best fixed setting (dose rate e⁻/Å²/s, frame rate frames/s) and its returns.
    public var bestSetting: (doseRate: Double, frameRate: Double)
    public var bestFixed: Row
    /// The per-particle hindsight bound: for each seed, the best setting's return for that particle.
    public var hindsight: Row
    public var policies: [Row]

    /// Builds the comparison from a complete sweep (with per-episode returns) and each policy's returns on the
    /// sweep's seeds, in seed order.
    public init(sweep: SweepTable, policies: [(label: String, returns: [Double])]) throws {
        guard let best = sweep.best, let oracle = sweep.hindsightReturns else {
            throw SweepError.incompleteSweep(
                "the headroom needs a complete sweep with per-episode returns (\(sweep.results.count) of "
                    + "\(sweep.doseRates.count * sweep.frameRates.count) settings present)")
        }
        for p in policies where p.returns.count != sweep.episodes {
            throw SweepError.incompleteSweep(
                "policy '\(p.label)' has \(p.returns.count) episode returns, the sweep \(sweep.episodes)")
        }
        environment = sweep.environment
        episodes = sweep.episodes
        seed = sweep.seed
        bestSetting = (best.doseRate, best.frameRate)
        let reference = best.episodeReturns
        let scale = abs(best.episodeReturn.mean)
        let hindsightGain = Estimate(zip(oracle, reference).map { $0 - $1 }).mean
        func row(_ label: String, _ returns: [Double]) -> Row {
            let gain = Estimate(zip(returns, reference).map { $0 - $1 })
            return Row(
                label: label, episodeReturn: Estimate(returns), gainOverBestFixed: gain,
                relativeGain: scale > 0 ? gain.mean / scale : .nan,
                shareOfHindsightGain: hindsightGain > 0 ? gain.mean / hindsightGain : nil)
        }
        bestFixed = row("best fixed setting", reference)
        hindsight = row("hindsight per-particle best setting", oracle)
        self.policies = policies.map { row($0.label, $0.returns) }
    }

    /// A Markdown table: return, paired gain over the best fixed setting (95 % CI), the gain relative to the best
    /// fixed return, and the share of the hindsight bound's gain.
    public var markdown: String {
        var lines = [
            "| strategy | return (mean ± 95% CI) | minus best fixed, paired | relative to best fixed | share of hindsight gain |",
            "|---|---:|---:|---:|---:|"
        ]
        for r in [bestFixed, hindsight] + policies {
            let share = r.shareOfHindsightGain.map { String(format: "%.2f", $0) } ?? "–"
            lines.append(
                String(
                    format: "| %@ | %.2f ± %.2f | %+.2f ± %.2f | %+.0f %% | %@ |", r.label, r.episodeReturn.mean,
                    r.episodeReturn.ci95, r.gainOverBestFixed.mean, r.gainOverBestFixed.ci95, 100 * r.relativeGain,
                    share))
        }
        return lines.joined(separator: "\n")
    }
}
