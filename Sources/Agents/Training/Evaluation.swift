import Foundation
import LeonardoSim
import MicroscopeGym

/// Evaluation of a policy on fixed seeds: the statistics the runner reports for every agent.
public struct EvaluationResult: Codable, Equatable {
    public var episodeReturn: Estimate
    /// Summed `signal_bits_per_frame` of the info over each episode (0 where an environment reports none).
    public var signal: Estimate
    /// `damage` of the info at each episode's end (0 where an environment reports none).
    public var damage: Estimate
    public var length: Estimate
    public var returns: [Double]
    /// How often the policy chose each discrete action (index = action), over all evaluation steps.
    public var actionCounts: [Int] = []

    /// This result's return minus `other`'s, episode by episode: both must have run on the same seeds in the same
    /// order (a paired comparison, whose interval is much narrower than the difference of two independent means).
    public func pairedDifference(minus other: EvaluationResult) -> Estimate {
        Estimate(zip(returns, other.returns).map { $0 - $1 })
    }
}

public enum Evaluation {
    /// The vector observation agents see: features and instrument of the liquid cell, flattened.
    public static let observationKeys = ["features", "instrument"]
    /// The length of that observation vector.
    public static let observationSize = LiquidCell.featureNames.count + LiquidCell.instrumentNames.count

    /// The keys agents see in `environment`: also `belief` where it observes one (`LiquidCell.observingBelief`) and
    /// `privileged` where it reveals its hidden state (both after the others, so the named indices of
    /// `LiquidCell.flatIndex(of:)` still hold).
    public static func observationKeys(for environment: LiquidCell) -> [String] {
        observationKeys + (environment.observesBelief ? ["belief"] : [])
            + (environment.revealsHiddenState ? ["privileged"] : [])
    }

    /// The length of the vector of `observationKeys(for:)`.
    public static func observationSize(for environment: LiquidCell) -> Int {
        observationKeys(for: environment).reduce(0) { $0 + environment.observationSpace.spaces[$1]!.low.count }
    }

    /// The liquid cell as agents see it: its observation flattened to `observationKeys(for:)`.
    public static func agentView(of environment: LiquidCell) throws -> FlattenObservation<LiquidCell> {
        try FlattenObservation(environment, keys: observationKeys(for: environment))
    }

    /// Runs one episode per seed with the greedy policy (`explore: false`) on any environment with vector
    /// observations and discrete actions (e.g. `agentView(of:)` of a liquid cell, or an environment of your own).
    public static func run<A: Agent, E: Environment>(_ agent: inout A, environment: E, seeds: [UInt64]) throws
        -> EvaluationResult where E.ObservationSpace == Box, E.ActionSpace == Discrete
    {
        try episodes(&agent, environment: environment, seeds: seeds, view: { $0 })
    }

    /// Runs one episode per seed with the greedy policy on a liquid cell, the agent reading `observationKeys(for:)`.
    public static func run<A: Agent>(_ agent: inout A, environment: LiquidCell, seeds: [UInt64]) throws
        -> EvaluationResult
    {
        var none: EpisodeRecording? = nil
        return try run(&agent, environment: environment, seeds: seeds, recording: &none)
    }

    /// `run(_:environment:seeds:)`, adding every step to `recording` when it is not nil.
    public static func run<A: Agent>(
        _ agent: inout A, environment: LiquidCell, seeds: [UInt64], recording: inout EpisodeRecording?
    ) throws -> EvaluationResult {
        // The agent reads the flattened observation; the environment itself is stepped so that a recording sees its
        // raw segment, true positions and hidden state.
        let view = try agentView(of: environment)
        var r = recording
        defer { recording = r }
        return try episodes(
            &agent, environment: environment, seeds: seeds, view: { view.observation($0) },
            onReset: { seed, env, o in r?.beginEpisode(seed: seed, environment: env, observation: o) },
            onStep: { s, a, env in r?.add(s, action: a, environment: env) },
            act: { agent, env, o in
                // A continuous agent's setting is applied as it is; it counts as the grid action it is nearest to.
                guard let s = agent.setting(o, explore: false) else {
                    let a = agent.act(o, explore: false)
                    return (try env.step(a), a)
                }
                return (try env.step(doseRate: s.doseRate, frameRate: s.frameRate), s.action)
            })
    }

    /// The one evaluation loop: greedy episodes on `seeds`, the agent reading `view` of each observation; `onReset`
    /// and `onStep` see the environment itself after each reset and step.
    static func episodes<A: Agent, E: Environment>(
        _ agent: inout A, environment: E, seeds: [UInt64], view: (E.Observation) -> [Float],
        onReset: (UInt64, E, E.Observation) -> Void = { _, _, _ in },
        onStep: (Step<E.Observation>, Int, E) -> Void = { _, _, _ in },
        act: (inout A, inout E, [Float]) throws -> (Step<E.Observation>, Int) = { agent, env, o in
            let a = agent.act(o, explore: false)
            return (try env.step(a), a)
        }
    ) throws -> EvaluationResult where E.ActionSpace == Discrete {
        var env = environment
        var returns: [Double] = []
        var signals: [Double] = []
        var damages: [Double] = []
        var lengths: [Double] = []
        var counts = [Int](repeating: 0, count: environment.actionSpace.n)
        for seed in seeds {
            var (o, _) = try env.reset(seed: seed)
            agent.beginEpisode(training: false)
            onReset(seed, env, o)
            var total = 0.0
            var signal = 0.0
            var n = 0
            while true {
                let (s, a) = try act(&agent, &env, view(o))
                onStep(s, a, env)
                counts[a] += 1
                total += s.reward
                signal += s.info["signal_bits_per_frame"] ?? 0
                n += 1
                o = s.observation
                if s.done {
                    damages.append(s.info["damage"] ?? 0)
                    break
                }
            }
            returns.append(total)
            signals.append(signal)
            lengths.append(Double(n))
        }
        return EvaluationResult(
            episodeReturn: Estimate(returns), signal: Estimate(signals), damage: Estimate(damages),
            length: Estimate(lengths), returns: returns, actionCounts: counts)
    }
}
