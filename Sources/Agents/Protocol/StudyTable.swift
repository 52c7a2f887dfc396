import Foundation
import LeonardoSim
import MicroscopeGym

/// A study's results per agent and environment: over the seeds of each pair, the mean of the per-seed figures with a
/// 95 % interval across seeds (each seed's figure is a mean over its test episodes). What `gym-runner study
/// aggregate` writes as summary.md.
public struct StudyTable: Equatable {
    public struct Row: Equatable {
        public var agent: String
        public var environment: String
        /// Completed runs (seeds) of the pair.
        public var seeds: Int
        /// The agent's test return, the best fixed setting's on the same seeds, and their paired difference, each
        /// over the seeds with finite figures (nil when none).
        public var testReturn: Estimate?
        public var bestFixed: Estimate?
        public var agentMinusBestFixed: Estimate?
    }

    public var rows: [Row]

    /// Groups `runs` by agent and environment, in the order of `agents` × `environments`.
    public init(runs: [RunSummary], agents: [String], environments: [String]) {
        func across(_ xs: [Double]) -> Estimate? {
            let finite = xs.filter(\.isFinite)
            return finite.isEmpty ? nil : Estimate(finite)
        }
        rows = agents.flatMap { a in
            environments.map { e in
                let group = runs.filter { $0.agent == a && $0.environment == e }
                return Row(
                    agent: a, environment: e, seeds: group.count, testReturn: across(group.map { $0.testReturn(a) }),
                    bestFixed: across(group.map { $0.testReturn("best_fixed") }),
                    agentMinusBestFixed: across(group.map(\.agentMinusBestFixed)))
            }
        }
    }
}
