import Foundation
import XCTest

@testable import Agents
@testable import LeonardoSim
@testable import MicroscopeGym

/// LiquidCell-v0 on a small random decoder (T = 32), episodes of at most 12 steps: fast in debug builds.
func tinyLiquidCell() throws -> LiquidCell {
    try makeEnvironment(id: "LiquidCell-v0").withSmallRandomDecoder(seed: 3) {
        $0.segmentFrames = 32
        $0.limits.maxSteps = 12
    }
}

/// `TrainingSession` trains agents from Swift code, without the CLI.
final class TrainingSessionTests: XCTestCase {
    func tinyCell() throws -> LiquidCell { try tinyLiquidCell() }

    /// DQN hyper-parameters small enough for a test of `steps` steps.
    func smallDQN(steps: Int, seed: UInt64) throws -> DQNAgent {
        var hyper = DQNHyperparameters()
        hyper.totalSteps = steps
        hyper.learningStarts = 10
        hyper.batchSize = 8
        return try DQNAgent(
            observationSize: Evaluation.observationSize, actionCount: 28, hyper: hyper, seed: seed)
    }

    func testTrainsDQNWithoutTheCLIAndSelectsOnValidation() throws {
        let cell = try tinyCell()
        let agent = try smallDQN(steps: 120, seed: 3)
        var schedule = TrainingSchedule(steps: 120, seed: 3)
        schedule.evaluateEvery = 40
        schedule.validationSeeds = [3_000_000, 3_000_001]
        let session = try TrainingSession(agent: agent, environment: cell, schedule: schedule, folder: nil)
        var calls = 0
        session.onStep = { _, _ in calls += 1 }
        XCTAssertTrue(try session.run())
        XCTAssertEqual(session.step, 120)
        XCTAssertEqual(calls, 120)
        XCTAssertEqual(agent.step, 120, "the session trains the agent it was given")
        let evals = session.records.filter { $0.kind == .eval }
        XCTAssertEqual(evals.map(\.step), [40, 80, 120])
        // The best row marks the running maximum of the validation means.
        let best = try XCTUnwrap(session.bestValidation)
        XCTAssertEqual(best.validationMean, evals.map(\.validationMean).max())
        XCTAssertEqual(session.selectedStep, best.step)
        let episodes = session.records.filter { $0.kind == .episode }
        XCTAssertEqual(episodes.count, session.episode)
        XCTAssertGreaterThan(session.episode, 0)
        XCTAssertTrue(episodes.allSatisfy { $0.length > 0 && $0.episodeReturn.isFinite })
    }

    func testPrivilegedAgentSeesTheHiddenStateAndItsPolicyFileSaysSo() throws {
        let cell = try tinyCell()
        let privileged = cell.revealingHiddenState()
        XCTAssertEqual(Evaluation.observationKeys(for: cell), ["features", "instrument"])
        XCTAssertEqual(Evaluation.observationKeys(for: privileged), ["features", "instrument", "privileged"])
        XCTAssertEqual(
            Evaluation.observationSize(for: privileged),
            Evaluation.observationSize + 3 + privileged.model.config.latentDim)
        var hyper = DQNHyperparameters()
        hyper.totalSteps = 60
        hyper.learningStarts = 10
        hyper.batchSize = 8
        let agent = try DQNAgent(
            observationSize: Evaluation.observationSize(for: privileged), actionCount: 28, hyper: hyper, seed: 4)
        let session = try TrainingSession(
            agent: agent, environment: privileged, schedule: TrainingSchedule(steps: 60, seed: 4), folder: nil)
        XCTAssertTrue(try session.run())
        let path = NSTemporaryDirectory() + "privileged-\(getpid()).h5"
        defer { unlink(path) }
        try agent.save(to: path)
        // The policy file's observation size selects the revealing environment; a plain policy keeps the plain one.
        XCTAssertTrue(try PolicyFile.environment(for: path, cell).revealsHiddenState)
        XCTAssertTrue(try PolicyFile.environment(for: path, privileged).revealsHiddenState)
        var loaded = try PolicyFile.load(path, environment: privileged)
        XCTAssertNoThrow(try Evaluation.run(&loaded, environment: privileged, seeds: [5]))
        let plain = try smallDQN(steps: 10, seed: 1)
        try plain.save(to: path)
        XCTAssertFalse(try PolicyFile.environment(for: path, cell).revealsHiddenState)
        // A policy of another layout is refused with both sizes named.
        let other = try DQNAgent(observationSize: 5, actionCount: 28, hyper: hyper, seed: 1)
        try other.save(to: path)
        XCTAssertThrowsError(try PolicyFile.environment(for: path, cell)) { error in
            XCTAssertTrue("\(error)".contains("reads 5 observation values"), "\(error)")
        }
    }

    /// A belief agent reads features, instrument and belief (before privileged); its policy file's size selects the
    /// belief layout, alone or with the hidden state.
    func testBeliefAgentSeesTheBeliefAndItsPolicyFileSaysSo() throws {
        let cell = try tinyCell()
        let belief = try cell.observingBelief()
        let L = cell.model.config.latentDim
        XCTAssertEqual(Evaluation.observationKeys(for: belief), ["features", "instrument", "belief"])
        XCTAssertEqual(
            Evaluation.observationKeys(for: belief.revealingHiddenState()),
            ["features", "instrument", "belief", "privileged"])
        XCTAssertEqual(Evaluation.observationSize(for: belief), Evaluation.observationSize + 2 * L + 5)
        var hyper = DQNHyperparameters()
        hyper.totalSteps = 40
        hyper.learningStarts = 10
        hyper.batchSize = 8
        let path = NSTemporaryDirectory() + "belief-\(getpid()).h5"
        defer { unlink(path) }
        for view in [belief, belief.revealingHiddenState()] {
            let agent = try DQNAgent(
                observationSize: Evaluation.observationSize(for: view), actionCount: 28, hyper: hyper, seed: 4)
            let session = try TrainingSession(
                agent: agent, environment: view, schedule: TrainingSchedule(steps: 40, seed: 4), folder: nil)
            XCTAssertTrue(try session.run())
            try agent.save(to: path)
            let chosen = try PolicyFile.environment(for: path, cell)
            XCTAssertTrue(chosen.observesBelief)
            XCTAssertEqual(chosen.revealsHiddenState, view.revealsHiddenState)
            var loaded = try PolicyFile.load(path, environment: chosen)
            XCTAssertNoThrow(try Evaluation.run(&loaded, environment: chosen, seeds: [5]))
        }
    }

    func testProgressRowsRoundTrip() throws {
        var row = TrainingRecord(kind: .episode, step: 7, episode: 2)
        row.episodeReturn = 1.25
        row.length = 7
        row.damage = 0.5
        row.epsilon = 0.9
        let eval = {
            var e = TrainingRecord(kind: .eval, step: 8, episode: 2)
            e.damage = 0.25
            e.validationMean = 3
            e.validationCI95 = 0.5
            return e
        }()
        for r in [row, eval] {
            let back = try XCTUnwrap(TrainingRecord(csvLine: Substring(r.csvLine)))
            XCTAssertEqual(back.csvLine, r.csvLine)
        }
        XCTAssertNil(TrainingRecord(csvLine: Substring(TrainingRecord.csvHeader)))
        XCTAssertTrue(row.csvLine.hasSuffix(",nan,,"), "a loss not yet known is written as nan")
    }

    /// A session stopped at an episode end and resumed from its folder ends exactly where an uninterrupted one does,
    /// for each resumable agent (DQN; PPO, whose checkpoint holds a partly filled rollout).
    func testResumeFromTheRunFolderIsExact() throws {
        let cell = try tinyCell()
        var ppo = PPOHyperparameters()
        ppo.rolloutSteps = 32
        ppo.minibatches = 2
        ppo.hiddenSizes = [16]
        ppo.totalSteps = 90
        let agents: [(String, () throws -> any Agent)] = [
            ("dqn", { try self.smallDQN(steps: 90, seed: 5) }),
            (
                "rdqn",
                {
                    var h = RecurrentDQNHyperparameters()
                    h.totalSteps = 90
                    h.learningStarts = 10
                    h.batchSize = 4
                    h.hiddenSize = 8
                    h.targetUpdateFrequency = 15
                    return try RecurrentDQNAgent(
                        observationSize: Evaluation.observationSize, actionCount: cell.actionSpace.n, hyper: h, seed: 5)
                }
            ),
            (
                "ppo",
                {
                    try PPOAgent(
                        observationSize: Evaluation.observationSize, actionCount: cell.actionSpace.n, hyper: ppo,
                        seed: 5)
                }
            ),
            // The vector loop: its checkpoint also holds every environment's state, taken at any vector step.
            ("ppo, 4 environments", { try self.vectorPPO(ppo, cell: cell, continuous: false) }),
            ("ppo, 4 environments, continuous", { try self.vectorPPO(ppo, cell: cell, continuous: true) })
        ]
        for (name, make) in agents {
            var schedule = TrainingSchedule(steps: 90, seed: 5)
            schedule.evaluateEvery = 30
            schedule.checkpointEvery = 20
            schedule.validationSeeds = [3_000_000]
            let root = NSTemporaryDirectory() + "session-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: root) }
            for folder in ["straight", "stopped"] {
                try FileManager.default.createDirectory(atPath: root + "/" + folder, withIntermediateDirectories: true)
            }
            let straight = try TrainingSession(
                agent: try make(), environment: cell, schedule: schedule, folder: root + "/straight")
            XCTAssertTrue(try straight.run())
            let stopped = try TrainingSession(
                agent: try make(), environment: cell, schedule: schedule, folder: root + "/stopped")
            stopped.stopRequested = { stopped.step >= 25 }
            XCTAssertFalse(try stopped.run(), "\(name): a requested stop ends the run early")
            XCTAssertLessThan(stopped.step, 90)
            let resumed = try XCTUnwrap(
                try TrainingSession.resume(folder: root + "/stopped", environment: cell, schedule: schedule))
            XCTAssertEqual(resumed.startStep, stopped.step, name)
            XCTAssertTrue(try resumed.run())
            XCTAssertEqual(resumed.progressCSV, straight.progressCSV, name)
            // The same network, bit for bit: both write the same policy file.
            let a = root + "/a.h5"
            let b = root + "/b.h5"
            try straight.agent.save(to: a)
            try resumed.agent.save(to: b)
            XCTAssertEqual(
                try Data(contentsOf: URL(fileURLWithPath: a)), try Data(contentsOf: URL(fileURLWithPath: b)), name)
        }
    }

    func vectorPPO(_ base: PPOHyperparameters, cell: LiquidCell, continuous: Bool) throws -> PPOAgent {
        var h = base
        h.environments = 4
        h.continuousActions = continuous
        return try PPOAgent(
            observationSize: Evaluation.observationSize, actionCount: cell.actionSpace.n, hyper: h, seed: 5,
            settingRanges: cell.spec.doseRateRange + cell.spec.frameRateRange,
            grid: (0..<cell.actionSpace.n).map { cell.setting(for: $0) })
    }

    /// The vector loop seeds training episode k with the schedule's k-th seed: with one environment and the same
    /// agent it writes the same progress as the one-environment loop would see episodes (same seeds, same count), and
    /// with four environments every episode seed is used once.
    func testTheVectorLoopRunsEveryTrainingEpisodeOnItsOwnSeed() throws {
        let cell = try tinyCell()
        var h = PPOHyperparameters()
        (h.rolloutSteps, h.minibatches, h.hiddenSizes, h.totalSteps) = (32, 2, [16], 200)
        let agent = try vectorPPO(h, cell: cell, continuous: false)
        var schedule = TrainingSchedule(steps: 200, seed: 9)
        schedule.evaluateEvery = 1000
        schedule.validationSeeds = [3_000_000]
        let session = try TrainingSession(agent: agent, environment: cell, schedule: schedule, folder: nil)
        XCTAssertTrue(try session.run())
        XCTAssertEqual(session.step, 200, "200 is a multiple of 4: no overshoot")
        let episodes = session.records.filter { $0.kind == .episode }
        XCTAssertGreaterThan(episodes.count, 4)
        XCTAssertEqual(episodes.map(\.episode), Array(1...episodes.count))
        // The steps of the finished episodes and the unfinished ones add up to the session's steps.
        XCTAssertLessThanOrEqual(episodes.reduce(0) { $0 + $1.length }, 200)
        XCTAssertGreaterThan(episodes.reduce(0) { $0 + $1.length }, 200 - 4 * 40)
        XCTAssertEqual(agent.updates, 200 / 32)
    }

    func testRefusesAnEmptySchedule() throws {
        let cell = try tinyCell()
        var schedule = TrainingSchedule(steps: 10, seed: 1)
        schedule.validationSeeds = []
        XCTAssertThrowsError(
            try TrainingSession(
                agent: RandomAgent(actionCount: 2, seed: 1), environment: cell, schedule: schedule, folder: nil))
    }
}
