import Foundation
import LeonardoSim
import MicroscopeGym

/// Everything that defines a training run, as its `config.json` records it: the agent and its hyper-parameters, the
/// environment, the schedule and the seed plan. `gym-runner train` parses its flags into one, writes it, and runs it;
/// `--resume` reads the stored one and refuses an invocation whose configuration differs from it.
public struct RunConfiguration: Codable, Equatable, Sendable {
    public var agent: AgentKind
    /// The registered ID of the environment (its spec's `id`).
    public var environment: String
    /// The spec file the environment came from, when it was not the registry's.
    public var envFile: String?
    /// The LEONARDO checkpoint the environment decodes with (resolved path).
    public var checkpoint: String
    public var steps: Int
    public var seed: UInt64
    public var evalEvery: Int
    public var evalEpisodes: Int
    public var testEpisodes: Int
    public var checkpointEvery: Int
    /// Episodes per setting of the sweep that finds the best fixed setting (0: no sweep, no `best_fixed` row).
    public var sweepEpisodes: Int
    /// The fixed baseline's action.
    public var fixedAction: Int
    public var selectOnValidation: Bool
    public var bootstrapTruncation: Bool
    /// The observation keys the agent reads (`Evaluation.observationKeys(for:)`; with `privileged` for a privileged
    /// agent).
    public var observationKeys: [String]
    public var dqn: DQNHyperparameters?
    public var rdqn: RecurrentDQNHyperparameters?
    public var ppo: PPOHyperparameters?
    public var cem: CEMHyperparameters?
    public var seedPlan: SeedPlan
    /// The final evaluation runs on the tuning seeds (`SeedPlan.tuningBase` + i) instead of the test seeds: for
    /// choosing hyper-parameters without looking at the test.
    public var evaluateOnTuningSeeds = false
    /// The command-line arguments the run was started with (a record for people; resume compares configurations).
    public var arguments: [String]
    /// What the arithmetic ran on: results are bit-identical only with the same kernels (docs/leonardo.md). A
    /// record, not part of the run's identity.
    public var inferenceKernels: String?
    public var openblasKernel: String?

    /// A configuration for `agent` on `cell` with gym-runner's defaults; hyper-parameters are those of the agent's
    /// defaults (with `totalSteps = steps`).
    public init(agent: AgentKind, environment cell: LiquidCell, steps: Int, seed: UInt64) {
        self.agent = agent
        environment = cell.spec.id
        checkpoint = cell.spec.resolvedCheckpoint
        self.steps = steps
        self.seed = seed
        evalEvery = 2_000
        evalEpisodes = 10
        testEpisodes = 30
        checkpointEvery = 2_000
        sweepEpisodes = 3
        fixedAction = AgentKind.defaultFixedAction(cell)
        selectOnValidation = true
        bootstrapTruncation = false
        observationKeys = Evaluation.observationKeys(for: cell)
        seedPlan = .standard
        arguments = []
        switch agent {
        case .dqn:
            var h = DQNHyperparameters()
            h.totalSteps = steps
            dqn = h
        case .rdqn:
            var h = RecurrentDQNHyperparameters()
            h.totalSteps = steps
            rdqn = h
        case .ppo:
            var h = PPOHyperparameters.benchmark
            h.totalSteps = steps
            ppo = h
        case .cem: cem = CEMHyperparameters()
        default: break
        }
        recordKernels(of: cell)
    }

    /// Sets `inferenceKernels` to `cell`'s model's and `openblasKernel` to this process's.
    public mutating func recordKernels(of cell: LiquidCell) {
        inferenceKernels = cell.model.kernels.description
        openblasKernel = OpenBLAS.kernel
    }

    enum CodingKeys: String, CodingKey {
        case agent, environment
        case envFile = "env_file"
        case checkpoint, steps, seed
        case evalEvery = "eval_every"
        case evalEpisodes = "eval_episodes"
        case testEpisodes = "test_episodes"
        case checkpointEvery = "checkpoint_every"
        case sweepEpisodes = "sweep_episodes"
        case fixedAction = "fixed_action"
        case selectOnValidation = "select_on_validation"
        case bootstrapTruncation = "bootstrap_truncation"
        case observationKeys = "observation_keys"
        case dqn, rdqn, ppo, cem
        case seedPlan = "seed_plan"
        case evaluateOnTuningSeeds = "evaluate_on_tuning_seeds"
        case arguments
        case inferenceKernels = "inference_kernels"
        case openblasKernel = "openblas_kernel"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        agent = try c.decode(AgentKind.self, forKey: .agent)
        environment = try c.decode(String.self, forKey: .environment)
        envFile = try c.decodeIfPresent(String.self, forKey: .envFile)
        checkpoint = try c.decode(String.self, forKey: .checkpoint)
        steps = try c.decode(Int.self, forKey: .steps)
        seed = try c.decode(UInt64.self, forKey: .seed)
        evalEvery = try c.decode(Int.self, forKey: .evalEvery)
        evalEpisodes = try c.decode(Int.self, forKey: .evalEpisodes)
        testEpisodes = try c.decode(Int.self, forKey: .testEpisodes)
        checkpointEvery = try c.decode(Int.self, forKey: .checkpointEvery)
        sweepEpisodes = try c.decode(Int.self, forKey: .sweepEpisodes)
        fixedAction = try c.decode(Int.self, forKey: .fixedAction)
        selectOnValidation = try c.decode(Bool.self, forKey: .selectOnValidation)
        bootstrapTruncation = try c.decode(Bool.self, forKey: .bootstrapTruncation)
        observationKeys = try c.decode([String].self, forKey: .observationKeys)
        dqn = try c.decodeIfPresent(DQNHyperparameters.self, forKey: .dqn)
        rdqn = try c.decodeIfPresent(RecurrentDQNHyperparameters.self, forKey: .rdqn)
        ppo = try c.decodeIfPresent(PPOHyperparameters.self, forKey: .ppo)
        cem = try c.decodeIfPresent(CEMHyperparameters.self, forKey: .cem)
        // Runs written before the seed plan was recorded used the legacy one (and resume with it).
        seedPlan = try c.decodeIfPresent(SeedPlan.self, forKey: .seedPlan) ?? .legacy
        evaluateOnTuningSeeds = try c.decodeIfPresent(Bool.self, forKey: .evaluateOnTuningSeeds) ?? false
        arguments = try c.decodeIfPresent([String].self, forKey: .arguments) ?? []
        inferenceKernels = try c.decodeIfPresent(String.self, forKey: .inferenceKernels)
        openblasKernel = try c.decodeIfPresent(String.self, forKey: .openblasKernel)
    }

    /// Whether the agent also reads the environment's hidden state (`gym-runner train --privileged`).
    public var privileged: Bool { observationKeys.contains("privileged") }

    /// Whether the agent also reads the belief features (`gym-runner train --belief`).
    public var belief: Bool { observationKeys.contains("belief") }

    /// The training schedule of the run.
    public var schedule: TrainingSchedule {
        var s = TrainingSchedule(steps: steps, seed: seed)
        s.evaluateEvery = evalEvery
        s.validationSeeds = seedPlan.validationSeeds(evalEpisodes)
        s.checkpointEvery = checkpointEvery
        s.selectOnValidation = selectOnValidation && agent.learns
        s.bootstrapTruncation = bootstrapTruncation
        s.seedPlan = seedPlan
        return s
    }

    /// The seeds of the final evaluation: the test seeds, or the tuning seeds (`evaluateOnTuningSeeds`).
    public var testSeeds: [UInt64] {
        evaluateOnTuningSeeds ? seedPlan.tuningSeeds(testEpisodes) : seedPlan.testSeeds(testEpisodes)
    }

    /// A new agent of this configuration for `cell` (its observation layout must be the configuration's).
    public func makeAgent(for cell: LiquidCell) throws -> any Agent {
        guard Evaluation.observationKeys(for: cell) == observationKeys else {
            throw AgentError.incompatible(
                "the run reads \(observationKeys.joined(separator: ", ")), \(cell.spec.id) gives "
                    + Evaluation.observationKeys(for: cell).joined(separator: ", "))
        }
        let size = Evaluation.observationSize(for: cell)
        let actions = cell.actionSpace.n
        switch agent {
        case .dqn:
            return try DQNAgent(observationSize: size, actionCount: actions, hyper: dqn ?? .init(), seed: seed)
        case .rdqn:
            return try RecurrentDQNAgent(
                observationSize: size, actionCount: actions, hyper: rdqn ?? .init(), seed: seed)
        case .ppo:
            let spec = cell.spec
            return try PPOAgent(
                observationSize: size, actionCount: actions, hyper: ppo ?? .benchmark, seed: seed,
                settingRanges: spec.doseRateRange + spec.frameRateRange,
                grid: (0..<actions).map { cell.setting(for: $0) })
        case .cem:
            return try CEMAgent(observationSize: size, actionCount: actions, hyper: cem ?? .init(), seed: seed)
        case .random, .fixed, .heuristic, .bandit:
            return try agent.makeBaseline(for: cell, seed: seed, fixedAction: fixedAction)
        }
    }

    /// The fields in which `other` differs from this configuration, as "key: this → other" (nested hyper-parameters
    /// as "dqn.learningRate"); the records (`arguments`, the kernels) are left out. Empty when the two define the
    /// same run.
    public func differences(to other: RunConfiguration) throws -> [String] {
        func object(_ c: RunConfiguration) throws -> [String: Any] {
            var c = c
            c.arguments = []
            c.inferenceKernels = nil
            c.openblasKernel = nil
            return try JSONSerialization.jsonObject(with: JSONEncoder.sorted.encode(c)) as? [String: Any] ?? [:]
        }
        func text(_ x: Any?) -> String {
            guard let x else { return "none" }
            if let s = x as? String { return s }
            if let d = try? JSONSerialization.data(withJSONObject: x, options: [.sortedKeys, .fragmentsAllowed]) {
                return String(decoding: d, as: UTF8.self)
            }
            return "\(x)"
        }
        func same(_ a: Any?, _ b: Any?) -> Bool { text(a) == text(b) }
        let (a, b) = (try object(self), try object(other))
        var found: [String] = []
        for key in Set(a.keys).union(b.keys).sorted() where !same(a[key], b[key]) {
            if let x = a[key] as? [String: Any], let y = b[key] as? [String: Any] {
                for k in Set(x.keys).union(y.keys).sorted() where !same(x[k], y[k]) {
                    found.append("\(key).\(k): \(text(x[k])) → \(text(y[k]))")
                }
            } else {
                found.append("\(key): \(text(a[key])) → \(text(b[key]))")
            }
        }
        return found
    }

    /// Reads a run's `config.json`.
    public static func load(_ path: String) throws -> RunConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AgentError.incompatible("\(path) cannot be read")
        }
        do { return try JSONDecoder().decode(RunConfiguration.self, from: data) } catch {
            throw AgentError.incompatible(
                "\(path) is not a run configuration of this version (\(error)): start the run again")
        }
    }

    /// The configuration as `config.json` holds it (sorted keys, indented).
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }
}
