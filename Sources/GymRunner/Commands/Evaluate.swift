import ArgumentParser
import Foundation
import LeonardoSim
import MicroscopeGym
import Agents

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a saved policy (or a baseline agent) on fixed seeds; prints mean ± 95% CI.")
    @Option(help: "Policy file (policy.h5 of a run).") var policy: String?
    @Option(help: "Baseline agent instead of a policy: random, fixed, heuristic.") var agent: AgentKind?
    @OptionGroup var environment: EnvironmentOptions
    @Option(help: "Episodes.") var episodes: Int = 20
    @Option(help: "Seed of the first episode (default: the first test seed of every training run).") var seed: UInt64 =
        SeedPlan.standard.testBase
    @Option(help: "The fixed agent's action.") var fixedAction: Int?
    @Option(
        help:
            "Also run this fixed action on the same seeds and print the paired difference (e.g. the sweep's best setting)."
    ) var versusFixedAction: Int?
    @Option(
        help:
            "Also write every step of the episodes to this HDF5 file: observed segments (NaN where lost), true positions, settings, rewards, the info and each episode's hidden particle and latent path (schema: docs/agents.md, Recordings)."
    ) var record: String?
    @OptionGroup var overwriting: OverwriteOption

    func validate() throws {
        if (policy == nil) == (agent == nil) { throw ValidationError("give exactly one of --policy and --agent") }
        if let agent, ![.random, .fixed, .heuristic].contains(agent) {
            throw ValidationError("--agent must be random, fixed or heuristic (learning agents need --policy)")
        }
        try requireRange(episodes, 1...100_000, "--episodes")
    }

    func run() throws {
        var cell = try environment.make()
        let a: any Agent
        if let policy {
            cell = try PolicyFile.environment(for: policy, cell)
            a = try PolicyFile.load(policy, environment: cell)
        } else {
            let fixed = fixedAction ?? AgentKind.defaultFixedAction(cell)
            guard cell.actionSpace.contains(fixed) else {
                throw UserError("--fixed-action \(fixed) is not in \(cell.actionSpace)")
            }
            a = try agent!.makeBaseline(for: cell, seed: seed, fixedAction: fixed)
        }
        if let record {
            try claimOutput(
                record, inputs: [policy, environment.envFile].compactMap { $0 }, overwrite: overwriting.overwrite,
                flag: "--record")
        }
        // One pass over the episodes: evaluated, and recorded as they run when --record is given.
        var recording = record.map { _ in EpisodeRecording(environment: cell, agent: a.name) }
        var player = a
        let seeds = (0..<episodes).map { seed &+ UInt64($0) }
        let r = try Evaluation.run(&player, environment: cell, seeds: seeds, recording: &recording)
        if let record, let recording {
            try recording.write(record)
            print("recorded \(recording.stepCount) steps of \(episodes) episodes to \(record)")
        }
        print(
            String(
                format: "%@ on %@, %d episodes: return %.2f ± %.2f (95%% CI), signal %.1f, damage %.2f, length %.1f",
                a.name, cell.spec.id, episodes, r.episodeReturn.mean, r.episodeReturn.ci95, r.signal.mean,
                r.damage.mean, r.length.mean))
        print(actionUsage(r.actionCounts, cell: cell))
        if let v = versusFixedAction {
            guard cell.actionSpace.contains(v) else {
                throw UserError("--versus-fixed-action \(v) is not in \(cell.actionSpace)")
            }
            var fixed = FixedAgent(action: v)
            let f = try Evaluation.run(&fixed, environment: cell, seeds: seeds)
            let d = r.pairedDifference(minus: f)
            let (dose, frame) = cell.setting(for: v)
            print(
                String(
                    format:
                        "fixed %g e⁻/Å²/s @ %g fps: return %.2f ± %.2f; %@ minus it, paired: %+.2f ± %.2f (95%% CI)",
                    dose, frame, f.episodeReturn.mean, f.episodeReturn.ci95, a.name, d.mean, d.ci95))
        }
    }
}
