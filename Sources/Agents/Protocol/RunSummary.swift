import Foundation
import LeonardoSim
import MicroscopeGym

/// The best fixed setting that the built-in sweep found.
public struct BestFixedSetting: Codable, Equatable, Sendable {
    public var action: Int
    public var doseRate: Double
    public var frameRate: Double
    enum CodingKeys: String, CodingKey {
        case action
        case doseRate = "dose_rate"
        case frameRate = "frame_rate"
    }
}

/// What a paired interval says about "A beats B".
public enum PairedVerdict: Equatable, Sendable {
    /// The 95 % interval lies above zero.
    case above
    /// The interval lies below zero.
    case below
    /// The interval includes zero: no evidence either way.
    case includesZero
    /// Too few episodes for an interval.
    case tooFew

    public init(_ difference: Estimate) {
        let (low, high) = difference.interval95
        self = !low.isFinite ? .tooFew : low > 0 ? .above : high < 0 ? .below : .includesZero
    }
}

/// The final evaluation of a training run, as its `summary.json` holds it: every agent compared on the same test
/// seeds (never used in training or selection), the best fixed setting, the learner's paired differences to it, and
/// the run's bookkeeping. `evaluate` computes it; `gym-runner train` writes it and `study`/`benchmark` read it.
public struct RunSummary: Codable, Equatable {
    public var environment: String
    public var agent: String
    /// Environment steps trained.
    public var steps: Int
    public var seed: UInt64
    public var testSeeds: [UInt64]
    public var validationSeeds: [UInt64]
    /// The training step of the evaluated policy (the best validated one when selecting).
    public var selectedStep: Int
    public var wallSeconds: Double
    /// `TrainingSession.timeSpent` of this process.
    public var trainingTimeSeconds: [String: Double]
    /// The test results by row: the agent's name (its selected policy), `<agent>_final` (its last policy, when a
    /// validated one was selected), the compared baselines, `best_fixed`.
    public var results: [String: EvaluationResult]
    /// Row minus `best_fixed`, paired over the test seeds, for the agent's rows; nil without a sweep.
    public var pairedMinusBestFixed: [String: Estimate]?
    public var bestFixedSetting: BestFixedSetting?

    /// The final evaluation of a run of `configuration` on `cell`: `policy` (the selected one) and `finalPolicy`
    /// (the last one, when a validated policy was selected) against the compared baselines and the best fixed
    /// setting (a sweep over every action on the plan's sweep seeds, then the test seeds). The bookkeeping fields
    /// (`steps`, `selectedStep`, times) are the configuration's and zero until the caller sets them.
    public static func evaluate(
        policy: any Agent, finalPolicy: (any Agent)?, configuration c: RunConfiguration, environment cell: LiquidCell
    ) throws -> RunSummary {
        let seeds = c.testSeeds
        func test(_ agent: any Agent) throws -> EvaluationResult {
            var a = agent
            return try Evaluation.run(&a, environment: cell, seeds: seeds)
        }
        var results: [String: EvaluationResult] = [:]
        if let finalPolicy { results[c.agent.rawValue + "_final"] = try test(finalPolicy) }
        results[c.agent.rawValue] = try test(policy)
        for kind in AgentKind.comparedBaselines where kind != c.agent {
            results[kind.rawValue] = try test(
                try kind.makeBaseline(for: cell, seed: c.seed, fixedAction: c.fixedAction))
        }
        var summary = RunSummary(
            environment: cell.spec.id, agent: c.agent.rawValue, steps: c.steps, seed: c.seed, testSeeds: seeds,
            validationSeeds: c.schedule.validationSeeds, selectedStep: c.steps, wallSeconds: 0,
            trainingTimeSeconds: [:], results: results)
        if c.sweepEpisodes > 0 {
            let best = try bestFixedAction(cell, episodes: c.sweepEpisodes, seed: c.seedPlan.sweepBase)
            let row = try test(FixedAgent(action: best))
            summary.results["best_fixed"] = row
            let (d, f) = cell.setting(for: best)
            summary.bestFixedSetting = BestFixedSetting(action: best, doseRate: d, frameRate: f)
            var paired: [String: Estimate] = [:]
            for key in [c.agent.rawValue, c.agent.rawValue + "_final"] {
                if let r = summary.results[key], key != "best_fixed" { paired[key] = r.pairedDifference(minus: row) }
            }
            summary.pairedMinusBestFixed = paired
        }
        return summary
    }

    /// The action whose fixed setting has the highest mean return over `episodes` episodes from `seed` (the first
    /// such action on ties): the sweep of every grid setting (`SweepTable`, whose grid index is the action).
    public static func bestFixedAction(_ cell: LiquidCell, episodes: Int, seed: UInt64) throws -> Int {
        let sweep = try SweepTable.run(
            cell, doseRates: cell.spec.doseRates, frameRates: cell.spec.frameRates, episodes: episodes, seed: seed)
        return sweep.bestIndex!
    }

    // summary.json: the bookkeeping under fixed keys, each result row under its own name at the top level.
    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
    private static let fixedKeys: Set<String> = [
        "environment", "agent", "steps", "seed", "test_seeds", "validation_seeds", "selected_step", "wall_seconds",
        "training_time_seconds", "paired_minus_best_fixed", "best_fixed_setting"
    ]

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(environment, forKey: Key("environment"))
        try c.encode(agent, forKey: Key("agent"))
        try c.encode(steps, forKey: Key("steps"))
        try c.encode(seed, forKey: Key("seed"))
        try c.encode(testSeeds, forKey: Key("test_seeds"))
        try c.encode(validationSeeds, forKey: Key("validation_seeds"))
        try c.encode(selectedStep, forKey: Key("selected_step"))
        try c.encode(wallSeconds, forKey: Key("wall_seconds"))
        try c.encode(trainingTimeSeconds, forKey: Key("training_time_seconds"))
        try c.encodeIfPresent(pairedMinusBestFixed, forKey: Key("paired_minus_best_fixed"))
        try c.encodeIfPresent(bestFixedSetting, forKey: Key("best_fixed_setting"))
        for (name, r) in results {
            guard !Self.fixedKeys.contains(name) else {
                throw EncodingError.invalidValue(
                    name, .init(codingPath: c.codingPath, debugDescription: "a result row may not be named \(name)"))
            }
            try c.encode(r, forKey: Key(name))
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        environment = try c.decode(String.self, forKey: Key("environment"))
        agent = try c.decode(String.self, forKey: Key("agent"))
        steps = try c.decode(Int.self, forKey: Key("steps"))
        seed = try c.decode(UInt64.self, forKey: Key("seed"))
        testSeeds = try c.decode([UInt64].self, forKey: Key("test_seeds"))
        validationSeeds = try c.decode([UInt64].self, forKey: Key("validation_seeds"))
        selectedStep = try c.decode(Int.self, forKey: Key("selected_step"))
        wallSeconds = try c.decode(Double.self, forKey: Key("wall_seconds"))
        trainingTimeSeconds = try c.decodeIfPresent([String: Double].self, forKey: Key("training_time_seconds")) ?? [:]
        pairedMinusBestFixed = try c.decodeIfPresent([String: Estimate].self, forKey: Key("paired_minus_best_fixed"))
        bestFixedSetting = try c.decodeIfPresent(BestFixedSetting.self, forKey: Key("best_fixed_setting"))
        results = [:]
        for key in c.allKeys where !Self.fixedKeys.contains(key.stringValue) {
            results[key.stringValue] = try c.decode(EvaluationResult.self, forKey: key)
        }
    }

    public init(
        environment: String, agent: String, steps: Int, seed: UInt64, testSeeds: [UInt64], validationSeeds: [UInt64],
        selectedStep: Int, wallSeconds: Double, trainingTimeSeconds: [String: Double],
        results: [String: EvaluationResult], pairedMinusBestFixed: [String: Estimate]? = nil,
        bestFixedSetting: BestFixedSetting? = nil
    ) {
        self.environment = environment
        self.agent = agent
        self.steps = steps
        self.seed = seed
        self.testSeeds = testSeeds
        self.validationSeeds = validationSeeds
        self.selectedStep = selectedStep
        self.wallSeconds = wallSeconds
        self.trainingTimeSeconds = trainingTimeSeconds
        self.results = results
        self.pairedMinusBestFixed = pairedMinusBestFixed
        self.bestFixedSetting = bestFixedSetting
    }

    /// The mean test return of row `name` ("dqn", "random", "best_fixed", …); NaN when the row is absent.
    public func testReturn(_ name: String) -> Double { results[name]?.episodeReturn.mean ?? .nan }

    /// The agent's mean test return minus the best fixed setting's, paired over the test seeds; NaN without a sweep.
    public var agentMinusBestFixed: Double { pairedMinusBestFixed?[agent]?.mean ?? .nan }

    /// Reads a run's `summary.json`.
    public static func load(_ path: String) throws -> RunSummary {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AgentError.incompatible("\(path) cannot be read")
        }
        do { return try JSONDecoder().decode(RunSummary.self, from: data) } catch {
            throw AgentError.incompatible("\(path) is not a run summary: \(error)")
        }
    }

    /// The summary as `summary.json` holds it (sorted keys, indented).
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }
}
