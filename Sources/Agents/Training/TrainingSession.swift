import Foundation
import LeonardoSim
import MicroscopeGym

/// A learner whose whole training state can be saved, so that a `TrainingSession` resumes it exactly.
public protocol ResumableAgent: Agent, AnyObject {
    /// Environment steps observed so far.
    var step: Int { get }
    /// Writes the full training state (weights, optimizer, replay buffer, generator) atomically.
    func saveCheckpoint(to path: String) throws
}

extension DQNAgent: ResumableAgent {
    public func saveCheckpoint(to path: String) throws { try save(to: path, full: true) }
}

/// When a training session evaluates, checkpoints and selects. Seeds (`SeedPlan`): training episode k of a session
/// runs on `seedPlan.trainingSeed(seed, episode: k)` (at least 2⁶³); validation on `validationSeeds` (3,000,000 + i
/// by default), never on test seeds.
public struct TrainingSchedule: Equatable, Sendable {
    /// Environment steps to train.
    public var steps: Int
    /// Seed of the training episodes.
    public var seed: UInt64
    /// Evaluate the greedy policy on the validation seeds every this many steps (and at the last step).
    public var evaluateEvery = 2_000
    /// The validation seeds.
    public var validationSeeds: [UInt64] = SeedPlan.standard.validationSeeds(10)
    /// A checkpoint is due every this many steps; it is taken at the next episode end, so that a resumed session
    /// continues exactly as an uninterrupted one.
    public var checkpointEvery = 2_000
    /// Keep the policy with the best validation return (`policy-best.h5` in the run folder); for learning agents.
    public var selectOnValidation = true
    /// Bootstrap from the last state of truncated episodes (off: a budget's end is terminal for learning).
    public var bootstrapTruncation = false
    /// Where the training episodes' seeds lie (`SeedPlan.trainingSeed`).
    public var seedPlan = SeedPlan.standard

    public init(steps: Int, seed: UInt64) {
        self.steps = steps
        self.seed = seed
    }

    /// The seed of training episode `episode`.
    public func episodeSeed(_ episode: Int) -> UInt64 { seedPlan.trainingSeed(seed, episode: episode) }
}

/// One row of a session's progress: a finished episode, a validation evaluation, or a new best policy.
public struct TrainingRecord: Equatable, Sendable {
    public enum Kind: String, Sendable { case episode, eval, best }
    public var kind: Kind
    public var step: Int
    public var episode: Int
    /// The episode's return (episode rows).
    public var episodeReturn = Double.nan
    public var length = 0
    /// Damage at the episode's end (episode rows) or the validation mean (eval rows).
    public var damage = Double.nan
    public var epsilon = Double.nan
    public var loss = Double.nan
    /// Validation return: mean and 95 % CI half-width (eval and best rows).
    public var validationMean = Double.nan
    public var validationCI95 = Double.nan

    /// The header of `progress.csv`.
    public static let csvHeader = "kind,step,episode,return,length,damage,epsilon,loss,eval_mean,eval_ci95"

    /// The record as a `progress.csv` line (fields that do not apply are empty).
    public var csvLine: String {
        func f(_ x: Double) -> String { x.isNaN ? "" : "\(x)" }
        switch kind {
        case .episode:
            return "episode,\(step),\(episode),\(episodeReturn),\(length),\(damage),\(epsilon),\(loss),,"
        case .eval:
            return "eval,\(step),\(episode),,,\(damage),,,\(validationMean),\(validationCI95)"
        case .best:
            return "best,\(step),\(episode),,,,,,\(validationMean),\(validationCI95)"
        }
    }

    /// Parses a `progress.csv` line written by `csvLine`; nil for the header or a foreign line.
    public init?(csvLine line: Substring) {
        let c = line.split(separator: ",", omittingEmptySubsequences: false)
        guard c.count >= 10, let kind = Kind(rawValue: String(c[0])), let step = Int(c[1]), let episode = Int(c[2])
        else { return nil }
        func d(_ i: Int) -> Double { Double(c[i]) ?? .nan }
        self.init(kind: kind, step: step, episode: episode)
        episodeReturn = d(3)
        length = Int(c[4]) ?? 0
        damage = d(5)
        epsilon = d(6)
        loss = d(7)
        validationMean = d(8)
        validationCI95 = d(9)
    }

    public init(kind: Kind, step: Int, episode: Int) {
        self.kind = kind
        self.step = step
        self.episode = episode
    }
}

/// Errors of a training session.
public enum TrainingError: Error, CustomStringConvertible {
    /// The loss became non-finite; `checkpoint` is the last good checkpoint, if one was written.
    case diverged(step: Int, loss: Double, checkpoint: String?)
    public var description: String {
        switch self {
        case .diverged(let step, let loss, let checkpoint):
            "training diverged at step \(step): the loss is \(loss) (lower the learning rate or the gradient-norm "
                + "clip); "
                + (checkpoint.map { "the last good checkpoint is \($0)" } ?? "no checkpoint was written yet")
        }
    }
}

/// Trains an agent on an environment with vector observations and discrete actions (a liquid cell through
/// `Evaluation.agentView(of:)`, or any `Environment` of your own): the loop over episodes (training seeds), periodic
/// validation on held-out seeds with selection of the best policy, checkpoints at episode ends for an exact resume,
/// and a record of every episode and evaluation. With a run folder it keeps `checkpoint.h5` and `progress.csv` there
/// (and `policy-best.h5` when selecting); without one everything stays in memory.
///
/// ```swift
/// let cell = try makeEnvironment(id: "LiquidCell-v0")
/// var hyper = DQNHyperparameters()
/// hyper.totalSteps = 20_000
/// let agent = try DQNAgent(
///     observationSize: Evaluation.observationSize, actionCount: cell.actionSpace.n, hyper: hyper, seed: 1)
/// let session = try TrainingSession(
///     agent: agent, environment: cell, schedule: TrainingSchedule(steps: 20_000, seed: 1), folder: "runs/mine")
/// try session.run()  // runs/mine: checkpoint.h5, progress.csv, policy-best.h5
/// ```
public final class TrainingSession<Env: Environment> where Env.ObservationSpace == Box, Env.ActionSpace == Discrete {
    /// The environment as the agent sees it.
    public let environment: Env
    public let schedule: TrainingSchedule
    /// The run folder, or nil for a session in memory.
    public let folder: String?
    /// The agent being trained.
    public private(set) var agent: any Agent
    /// Environment steps done (including those of a resumed run).
    public private(set) var step = 0
    /// Training episodes finished.
    public private(set) var episode = 0
    /// Every record so far, a resumed run's included, in order.
    public private(set) var records: [TrainingRecord] = []
    /// The step at which the session started (non-zero for a resumed run).
    public let startStep: Int
    /// Returns true to stop at the next episode end (e.g. on Ctrl-C); the session then checkpoints there.
    public var stopRequested: () -> Bool = { false }
    /// Called after every step with the session and the step's training metrics (e.g. "loss", "epsilon").
    public var onStep: ((TrainingSession, [String: Double]) -> Void)?
    /// Wall seconds this process spent in each part of `run()`: "environment" (steps and resets), "act" (the agent's
    /// choice), "learn" (`observe`: replay storage, sampling and network updates), "validation" and "checkpoint".
    /// A measurement only: nothing depends on it (`gym-runner train` prints the shares and writes them to
    /// summary.json).
    public private(set) var timeSpent: [String: Double] = [:]

    /// Runs `body`, adding its wall time to `timeSpent[part]`.
    @inline(__always)
    private func timed<T>(_ part: String, _ body: () throws -> T) rethrows -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { timeSpent[part, default: 0] += Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9 }
        return try body()
    }

    /// The mean return of the last (up to) 20 training episodes, NaN before the first.
    public var recentReturn: Double {
        let r = records.lazy.filter { $0.kind == .episode }.suffix(20).map(\.episodeReturn)
        return r.isEmpty ? .nan : r.reduce(0, +) / Double(r.count)
    }

    /// The best validation record so far.
    public var bestValidation: TrainingRecord? { records.last { $0.kind == .best } }

    /// A session for `agent` (a new one, or the agent a resumed run loaded: see `resume(folder:environment:schedule:)`).
    /// - Parameter records: the records of the run being resumed (its `progress.csv`), empty for a new run.
    public init(
        agent: any Agent, environment: Env, schedule: TrainingSchedule, folder: String?,
        records: [TrainingRecord] = []
    ) throws {
        guard schedule.steps >= 1, schedule.evaluateEvery >= 1, schedule.checkpointEvery >= 1,
            !schedule.validationSeeds.isEmpty
        else {
            throw AgentError.incompatible(
                "a training schedule needs steps, evaluateEvery and checkpointEvery ≥ 1 and a validation seed")
        }
        self.agent = agent
        self.environment = environment
        self.schedule = schedule
        self.folder = folder
        self.records = records
        startStep = (agent as? any ResumableAgent)?.step ?? 0
        step = startStep
        episode = records.filter { $0.kind == .episode }.count
    }

    /// Resumes the run in `folder` from its `checkpoint.h5` and `progress.csv`; nil when it holds no checkpoint.
    /// - Parameter load: reads the checkpoint (the default reads those of the package's resumable agents, DQN and PPO).
    public static func resume(
        folder: String, environment: Env, schedule: TrainingSchedule,
        load: (String) throws -> any Agent = PolicyFile.loadLearner
    ) throws -> TrainingSession? {
        let checkpoint = path(folder, "checkpoint.h5")
        guard FileManager.default.fileExists(atPath: checkpoint) else { return nil }
        guard var agent = try load(checkpoint) as? any ResumableAgent else {
            throw AgentError.badPolicyFile("\(checkpoint): not a checkpoint of a resumable agent (DQN, PPO)")
        }
        agent.endEpisode(return: 0)  // checkpoints lie at episode ends: the next episode starts afresh
        let progress = (try? String(contentsOfFile: path(folder, "progress.csv"), encoding: .utf8)) ?? ""
        let records = progress.split(separator: "\n").compactMap { TrainingRecord(csvLine: $0) }
        return try TrainingSession(
            agent: agent, environment: environment, schedule: schedule, folder: folder, records: records)
    }

    private static func path(_ folder: String, _ name: String) -> String {
        (folder as NSString).appendingPathComponent(name)
    }

    private func path(_ name: String) -> String? { folder.map { Self.path($0, name) } }

    /// Trains until `schedule.steps` (returns true) or until a stop was requested (returns false, after a
    /// checkpoint at an episode end).
    @discardableResult
    public func run() throws -> Bool {
        if let ppo = agent as? PPOAgent, ppo.needsVectorRollout {
            guard let session = self as? TrainingSession<FlattenObservation<LiquidCell>> else {
                throw AgentError.incompatible(
                    "PPO with several environments or continuous actions trains on a liquid cell "
                        + "(Evaluation.agentView(of:)), not on \(Env.self)")
            }
            return try session.runVector(ppo)
        }
        var env = environment
        var (observation, _) = try timed("environment") { try env.reset(seed: schedule.episodeSeed(episode)) }
        agent.beginEpisode(training: true)
        var episodeReturn = 0.0
        var episodeLength = 0
        // The last loss reported (a resumed run continues its progress rows as the uninterrupted run writes them).
        var lastLoss = records.last { $0.kind == .episode }?.loss ?? .nan
        var epsilon = Double.nan
        var checkpointDue = false
        while step < schedule.steps && !(stopRequested() && episodeLength == 0) {
            let action = timed("act") { agent.act(observation, explore: true) }
            let s = try timed("environment") { try env.step(action) }
            let endsTask = s.terminated || (s.truncated && !schedule.bootstrapTruncation)
            let metrics = timed("learn") {
                agent.observe(
                    Transition(
                        observation: observation, action: action, reward: s.reward, nextObservation: s.observation,
                        terminated: endsTask, done: s.done))
            }
            step += 1
            if let loss = metrics["loss"] {
                guard loss.isFinite else {
                    let kept = path("checkpoint.h5").flatMap { FileManager.default.fileExists(atPath: $0) ? $0 : nil }
                    throw TrainingError.diverged(step: step, loss: loss, checkpoint: kept)
                }
                lastLoss = loss
            }
            if let e = metrics["epsilon"] { epsilon = e }
            episodeReturn += s.reward
            episodeLength += 1
            observation = s.observation
            if s.done {
                agent.endEpisode(return: episodeReturn)
                episode += 1
                var row = TrainingRecord(kind: .episode, step: step, episode: episode)
                row.episodeReturn = episodeReturn
                row.length = episodeLength
                row.damage = s.info["damage"] ?? 0
                row.epsilon = epsilon.isNaN ? 0 : epsilon
                row.loss = lastLoss
                records.append(row)
                episodeReturn = 0
                episodeLength = 0
                (observation, _) = try timed("environment") { try env.reset(seed: schedule.episodeSeed(episode)) }
                agent.beginEpisode(training: true)
            }
            if step % schedule.evaluateEvery == 0 || step == schedule.steps {
                try timed("validation") { try validate() }
            }
            if step % schedule.checkpointEvery == 0 { checkpointDue = true }
            if s.done && checkpointDue {
                try timed("checkpoint") { try checkpoint() }
                checkpointDue = false
            }
            onStep?(self, metrics)
        }
        try timed("checkpoint") { try checkpoint() }
        return step >= schedule.steps
    }

    /// Evaluates the greedy policy on the validation seeds; keeps it as `policy-best.h5` when it is the best yet.
    private func validate() throws {
        var policy = agent
        // On a liquid cell the evaluation steps the cell itself, so that continuous agents apply their settings.
        let r =
            try (environment as? FlattenObservation<LiquidCell>).map {
                try Evaluation.run(&policy, environment: $0.base, seeds: schedule.validationSeeds)
            } ?? Evaluation.run(&policy, environment: environment, seeds: schedule.validationSeeds)
        let best = records.filter { $0.kind == .eval }.map(\.validationMean).max() ?? -.infinity
        if schedule.selectOnValidation && r.episodeReturn.mean > best {
            if let p = path("policy-best.h5") { try agent.save(to: p) }
            var row = TrainingRecord(kind: .best, step: step, episode: episode)
            row.validationMean = r.episodeReturn.mean
            row.validationCI95 = r.episodeReturn.ci95
            records.append(row)
        }
        var row = TrainingRecord(kind: .eval, step: step, episode: episode)
        row.damage = r.damage.mean
        row.validationMean = r.episodeReturn.mean
        row.validationCI95 = r.episodeReturn.ci95
        records.append(row)
    }

    /// `progress.csv`: the header and every record.
    public var progressCSV: String {
        ([TrainingRecord.csvHeader] + records.map(\.csvLine)).joined(separator: "\n") + "\n"
    }

    /// Writes the checkpoint (resumable agents) and `progress.csv` to the run folder, atomically.
    public func checkpoint() throws {
        guard let folder else { return }
        if let resumable = agent as? any ResumableAgent {
            try resumable.saveCheckpoint(to: Self.path(folder, "checkpoint.h5"))
        }
        try writeDataAtomically(Self.path(folder, "progress.csv"), Data(progressCSV.utf8))
    }

    /// The step of the selected policy: the best validated one when selecting, else the last step.
    public var selectedStep: Int {
        guard schedule.selectOnValidation, let best = bestValidation else { return step }
        return best.step
    }
}

extension TrainingSession where Env == FlattenObservation<LiquidCell> {
    /// The training loop of PPO over `hyper.environments` liquid cells stepped together (`LiquidCellVector`: one
    /// batched decoder call per step), with discrete or continuous actions. Training episode k runs on
    /// `schedule.episodeSeed(k)`, numbered in the order episodes start (environment index breaking ties), so the run is
    /// the same whatever the machine. Validation and checkpoints fall due as in `run()`, but at any vector step: the
    /// checkpoint carries every environment's state (`VectorRolloutState`), so a resumed run continues exactly. The
    /// last vector step may pass `schedule.steps` by up to N − 1 steps.
    func runVector(_ ppo: PPOAgent) throws -> Bool {
        let N = ppo.hyper.environments
        let view = environment
        let cell = environment.base
        var vector = LiquidCellVector(cell, count: N)
        var observations: [[Float]] = []
        var returns: [Double]
        var lengths: [Int]
        var nextEpisode: Int
        if let saved = ppo.vectorState {
            guard saved.states.count == N, saved.observations.count == N, saved.returns.count == N,
                saved.lengths.count == N
            else {
                throw AgentError.badPolicyFile("the checkpoint's environments do not match --ppo-envs \(N)")
            }
            for e in 0..<N { try vector.restore(try LiquidCellState(decoding: saved.states[e]), into: e) }
            observations = saved.observations
            (returns, lengths, nextEpisode) = (saved.returns, saved.lengths, saved.nextEpisode)
        } else {
            for e in 0..<N {
                let (o, _) = try timed("environment") {
                    try vector.reset(environment: e, seed: schedule.episodeSeed(episode + e))
                }
                observations.append(view.observation(o))
            }
            returns = [Double](repeating: 0, count: N)
            lengths = [Int](repeating: 0, count: N)
            nextEpisode = episode + N
        }
        func snapshot() -> VectorRolloutState {
            VectorRolloutState(
                states: (0..<N).map { vector.state(of: $0).encoded() }, observations: observations, returns: returns,
                lengths: lengths, nextEpisode: nextEpisode)
        }
        var lastLoss = records.last { $0.kind == .episode }?.loss ?? .nan
        var nextValidation = (step / schedule.evaluateEvery + 1) * schedule.evaluateEvery
        var nextCheckpoint = (step / schedule.checkpointEvery + 1) * schedule.checkpointEvery
        while step < schedule.steps && !stopRequested() {
            let chosen = timed("act") { ppo.act(batch: observations, explore: true) }
            let settings = chosen.map {
                ppo.hyper.continuousActions
                    ? (doseRate: $0.doseRate, frameRate: $0.frameRate) : cell.setting(for: $0.action)
            }
            let steps = try timed("environment") { try vector.stepWithoutReset(settings: settings) }
            let next = steps.map { view.observation($0.observation) }
            let metrics = timed("learn") {
                ppo.observe(
                    batch: observations, rewards: steps.map(\.reward),
                    terminated: steps.map { $0.terminated || ($0.truncated && !schedule.bootstrapTruncation) },
                    done: steps.map(\.done), nextObservations: next, actions: chosen.map(\.action))
            }
            step += N
            if let loss = metrics["loss"] {
                guard loss.isFinite else {
                    let kept = path("checkpoint.h5").flatMap { FileManager.default.fileExists(atPath: $0) ? $0 : nil }
                    throw TrainingError.diverged(step: step, loss: loss, checkpoint: kept)
                }
                lastLoss = loss
            }
            for e in 0..<N {
                let s = steps[e]
                returns[e] += s.reward
                lengths[e] += 1
                guard s.done else {
                    observations[e] = next[e]
                    continue
                }
                episode += 1
                var row = TrainingRecord(kind: .episode, step: step, episode: episode)
                row.episodeReturn = returns[e]
                row.length = lengths[e]
                row.damage = s.info["damage"] ?? 0
                row.epsilon = 0
                row.loss = lastLoss
                records.append(row)
                let (o, _) = try timed("environment") {
                    try vector.reset(environment: e, seed: schedule.episodeSeed(nextEpisode))
                }
                observations[e] = view.observation(o)
                (returns[e], lengths[e]) = (0, 0)
                nextEpisode += 1
            }
            if step >= nextValidation || step >= schedule.steps {
                try timed("validation") { try validate() }
                while nextValidation <= step { nextValidation += schedule.evaluateEvery }
            }
            if step >= nextCheckpoint {
                ppo.vectorState = snapshot()
                try timed("checkpoint") { try checkpoint() }
                while nextCheckpoint <= step { nextCheckpoint += schedule.checkpointEvery }
            }
            onStep?(self, metrics)
        }
        ppo.vectorState = snapshot()
        try timed("checkpoint") { try checkpoint() }
        return step >= schedule.steps
    }

    /// A session on a liquid cell, the agent seeing `Evaluation.agentView(of:)` of it.
    public convenience init(
        agent: any Agent, environment: LiquidCell, schedule: TrainingSchedule, folder: String?,
        records: [TrainingRecord] = []
    ) throws {
        try self.init(
            agent: agent, environment: try Evaluation.agentView(of: environment), schedule: schedule, folder: folder,
            records: records)
    }

    /// Resumes the run in `folder` on a liquid cell (see `resume(folder:environment:schedule:load:)`).
    public static func resume(folder: String, environment: LiquidCell, schedule: TrainingSchedule) throws
        -> TrainingSession?
    {
        try resume(
            folder: folder, environment: try Evaluation.agentView(of: environment), schedule: schedule,
            load: { try PolicyFile.load($0, environment: environment) })
    }
}

/// A training session on a liquid cell (what `gym-runner train` runs).
public typealias LiquidCellTrainingSession = TrainingSession<FlattenObservation<LiquidCell>>
