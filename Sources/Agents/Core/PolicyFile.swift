import Foundation
import LeonardoSim
import MicroscopeGym

/// The policy file format: HDF5 with attributes `format`, `agent` and the agent's own datasets/attributes.
public enum PolicyFile {
    public static let format = "microscopegym.policy/1"

    /// Writes a policy file atomically (temporary file, then rename): the `format` and `agent` attributes, then
    /// the agent's own contents.
    public static func write(_ path: String, agent: String, _ body: (HDF5File) throws -> Void) throws {
        try writeHDF5Atomically(path) { f in
            try f.setAttribute("format", format)
            try f.setAttribute("agent", agent)
            try body(f)
        }
    }

    /// What every learned agent's policy file holds besides its weights: hyper-parameters, sizes and the normaliser.
    public struct Header<Hyperparameters: Decodable> {
        public let hyper: Hyperparameters
        public let observationSize: Int, actionCount: Int
        public let normalizer: ObservationNormalizer

        /// Reads the header of `f` (opened from `path`), refusing a file of another agent or damaged attributes.
        public init(_ f: HDF5File, path: String, agent: String) throws {
            guard try f.stringAttribute("agent") == agent else {
                throw AgentError.badPolicyFile("\(path): not a \(agent.uppercased()) policy file")
            }
            guard let hj = try f.stringAttribute("hyperparameters"),
                let hyper = try? JSONDecoder().decode(Hyperparameters.self, from: Data(hj.utf8)),
                let d = try f.doubleAttribute("observation_size"), let a = try f.doubleAttribute("action_count"),
                d >= 1, d <= 1e6, a >= 1, a <= 1e6,
                let nj = try f.stringAttribute("normalizer"),
                let normalizer = try? JSONDecoder().decode(ObservationNormalizer.self, from: Data(nj.utf8))
            else {
                throw AgentError.badPolicyFile(
                    "\(path): \(agent.uppercased()) policy attributes are missing or damaged")
            }
            self.hyper = hyper
            observationSize = Int(d)
            actionCount = Int(a)
            self.normalizer = normalizer
        }
    }

    /// Writes the header that `Header` reads.
    public static func writeHeader<H: Encodable>(
        _ f: HDF5File, hyper: H, observationSize: Int, actionCount: Int, normalizer: ObservationNormalizer
    ) throws {
        try f.setAttribute("hyperparameters", String(decoding: try JSONEncoder.sorted.encode(hyper), as: UTF8.self))
        try f.setAttribute("observation_size", observationSize)
        try f.setAttribute("action_count", actionCount)
        try f.setAttribute("normalizer", String(decoding: try JSONEncoder.sorted.encode(normalizer), as: UTF8.self))
    }

    /// The observation size a learned agent's policy file was trained with (nil for baseline policies, which read
    /// observations by name).
    public static func observationSize(_ path: String) throws -> Int? {
        let f: HDF5File
        do { f = try HDF5File.open(path) } catch { throw AgentError.badPolicyFile("\(path): cannot open (\(error))") }
        defer { f.close() }
        return try f.doubleAttribute("observation_size").flatMap { $0.isFinite && $0 >= 0 && $0 <= 1e6 ? Int($0) : nil }
    }

    /// `environment`, revealing its hidden state when the policy in `path` was trained with privileged information
    /// (`gym-runner train --privileged`) and observing the belief when it was trained with it (`--belief`): its
    /// observation size says which. Refuses a policy that fits none of these layouts.
    public static func environment(for path: String, _ environment: LiquidCell) throws -> LiquidCell {
        guard let size = try observationSize(path) else { return environment }
        if size == Evaluation.observationSize(for: environment) { return environment }
        var candidates: [(LiquidCell, String)] = []
        let withBelief = environment.observesBelief ? nil : try? environment.observingBelief()
        if !environment.revealsHiddenState {
            candidates.append((environment.revealingHiddenState(), "with its hidden state"))
        }
        if let withBelief {
            candidates.append((withBelief, "with the belief"))
            if !environment.revealsHiddenState {
                candidates.append((withBelief.revealingHiddenState(), "with both"))
            }
        }
        if let match = candidates.first(where: { Evaluation.observationSize(for: $0.0) == size }) { return match.0 }
        let others = candidates.map { "\(Evaluation.observationSize(for: $0.0)) \($0.1)" }
        throw AgentError.badPolicyFile(
            "\(path): the policy reads \(size) observation values, \(environment.spec.id) gives "
                + "\(Evaluation.observationSize(for: environment))"
                + (others.isEmpty ? "" : " (or \(others.joined(separator: ", ")))")
                + ": a policy of another observation layout")
    }

    /// The `agent` attribute of a policy file (as an `AgentKind`) and its `action` attribute (fixed policies).
    private static func header(_ path: String) throws -> (kind: AgentKind, action: Double?) {
        let f: HDF5File
        do { f = try HDF5File.open(path) } catch { throw AgentError.badPolicyFile("\(path): cannot open (\(error))") }
        defer { f.close() }
        let kind = try f.stringAttribute("agent")
        guard let agent = kind.flatMap(AgentKind.init(rawValue:)) else {
            throw AgentError.badPolicyFile(
                "\(path): not a MicroscopeGym policy file (attribute 'agent' is \(kind ?? "missing"))")
        }
        return (agent, try f.doubleAttribute("action"))
    }

    /// The learner of `kind` read from `path`; refuses a baseline, which needs its liquid cell (`load`).
    private static func learner(_ kind: AgentKind, _ path: String) throws -> any Agent {
        switch kind {
        case .dqn: return try DQNAgent.load(path)
        case .rdqn: return try RecurrentDQNAgent.load(path)
        case .cem: return try CEMAgent.load(path)
        case .ppo: return try PPOAgent.load(path)
        case .bandit, .fixed, .heuristic, .random:
            throw AgentError.badPolicyFile("\(path): a \(kind.rawValue) policy, which needs its liquid cell to load")
        }
    }

    /// Loads the policy file of a learning agent (DQN, PPO, CEM), whose file holds everything it needs, for any
    /// environment; baseline policies need their environment (`load(_:environment:)`).
    public static func loadLearner(_ path: String) throws -> any Agent { try learner(header(path).kind, path) }

    /// Loads any policy file written by an agent's `save`, for `environment` (whose spaces it must fit).
    public static func load(_ path: String, environment: LiquidCell) throws -> any Agent {
        let (kind, action) = try header(path)
        switch kind {
        case .dqn, .rdqn, .cem, .ppo: return try learner(kind, path)
        case .bandit: return try BanditAgent.load(path, actionCount: environment.actionSpace.n)
        case .fixed:
            guard let a = action, a.isFinite, environment.actionSpace.contains(Int(a)) else {
                throw AgentError.badPolicyFile("\(path): fixed policy without an action of \(environment.actionSpace)")
            }
            return FixedAgent(action: Int(a))
        case .heuristic:
            return HeuristicAgent(doseRates: environment.spec.doseRates, frameRates: environment.spec.frameRates)
        case .random: return RandomAgent(actionCount: environment.actionSpace.n, seed: 0)
        }
    }
}
