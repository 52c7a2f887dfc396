import ArgumentParser
import Foundation
import LeonardoSim
import MicroscopeGym
import Agents

/// Records one episode's observations and rewards for given actions: the Swift side of the Python package's
/// seeding-parity test, and a readable dump of what an agent sees.
struct Trace: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Record the observations (as the C library and Python package present them) and rewards of given actions.",
        discussion: """
            Observations pass through HoldLostFrames (lost frames hold the last tracked position; 'tracked' marks \
            detections), as in the Python package. Floats are written exactly (float32 values widened to double).
            """)
    @OptionGroup var environment: EnvironmentOptions
    @Option(help: "Seed of reset.") var seed: UInt64 = 0
    @Option(
        help: "Discrete actions, comma-separated; when an episode ends, the next one starts with reset() (no seed).")
    var actions: String?
    @Option(
        help:
            "Take the actions from this policy file instead (greedy, on the features and instrument of the observation as written), for --steps steps: the Swift side of the Python Policy's parity test."
    ) var policy: String?
    @Option(help: "Steps with --policy.") var steps: Int = 50
    @Option(help: "Output JSON file.") var out: String
    @OptionGroup var overwriting: OverwriteOption

    func validate() throws {
        if (actions == nil) == (policy == nil) { throw ValidationError("give exactly one of --actions and --policy") }
        try requireRange(steps, 1...100_000, "--steps")
    }

    func run() throws {
        let list = try (actions ?? "").split(separator: ",").map { part -> Int in
            guard let a = Int(part.trimmingCharacters(in: .whitespaces)) else {
                throw UserError("--actions: '\(part)' is not an integer")
            }
            return a
        }
        guard policy != nil || !list.isEmpty else { throw UserError("--actions: give at least one action") }
        var cell = try environment.make()
        var agent: (any Agent)? = nil
        if let policy {
            // The policy's observation layout (a belief policy also sees `belief` in the trace).
            cell = try PolicyFile.environment(for: policy, cell)
            guard !cell.revealsHiddenState else {
                throw UserError(
                    "--policy \(policy): a privileged policy needs the hidden state, which a trace does not show")
            }
            agent = try PolicyFile.load(policy, environment: cell)
            if let ppo = agent as? PPOAgent, ppo.hyper.continuousActions {
                throw UserError(
                    "--policy \(policy): a continuous PPO policy sets the dose rate and frame rate between the grid's, "
                        + "which a trace of grid actions cannot show; use gym-runner evaluate --record")
            }
        }
        var env = try HoldLostFrames(cell)
        let keys = Evaluation.observationKeys(for: cell)
        try claimOutput(out, overwrite: overwriting.overwrite)  // inputs first, then the output
        func encode(_ o: [String: [Float]]) -> [String: [Double]] { o.mapValues { $0.map(Double.init) } }
        var steps: [[String: Any]] = []
        let (first, firstInfo) = try env.reset(seed: seed)
        agent?.beginEpisode(training: false)
        var observation = first
        for k in 0..<(agent == nil ? list.count : self.steps) {
            let a = agent?.act(keys.flatMap { observation[$0]! }, explore: false) ?? list[k]
            let s = try env.step(a)
            var entry: [String: Any] = [
                "action": a, "observation": encode(s.observation), "reward": s.reward, "terminated": s.terminated,
                "truncated": s.truncated, "info": s.info
            ]
            observation = s.observation
            if s.done {
                let (o, info) = try env.reset(seed: nil)
                agent?.beginEpisode(training: false)
                entry["next_reset"] = ["observation": encode(o), "info": info]
                observation = o
            }
            steps.append(entry)
        }
        let trace: [String: Any] = [
            "id": env.base.spec.id, "seed": seed, "reset": ["observation": encode(first), "info": firstInfo],
            "steps": steps
        ]
        guard JSONSerialization.isValidJSONObject(trace) else {
            throw UserError("the trace holds a non-finite number and cannot be written as JSON")
        }
        try writeAtomically(out, try JSONSerialization.data(withJSONObject: trace, options: [.sortedKeys]))
        print("\(steps.count) steps of \(env.base.spec.id) (seed \(seed)) written to \(out)")
    }
}
