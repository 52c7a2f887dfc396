import XCTest
import LeonardoSim
import Agents  // public API only: no @testable
import MicroscopeGym

/// A toy environment written outside the module: a corridor of `length` cells; action 1 moves right, 0 left;
/// reaching the right end pays 1 and terminates.
struct Corridor: Environment {
    let length = 6
    var position = 0
    var ended = true
    var observationSpace: Box { Box(shape: [1], low: 0, high: Float(length - 1)) }
    var actionSpace: Discrete { Discrete(2) }
    mutating func reset(seed: UInt64?, options: [String: Double]) throws -> ([Float], Info) {
        position = 0
        ended = false
        return ([0], [:])
    }
    mutating func step(_ action: Int) throws -> Step<[Float]> {
        guard !ended else { throw EnvironmentError.stepAfterEpisodeEnd }
        guard actionSpace.contains(action) else { throw EnvironmentError.actionOutsideSpace("\(action)") }
        position = max(0, min(length - 1, position + (action == 1 ? 1 : -1)))
        let done = position == length - 1
        ended = done
        return Step(observation: [Float(position)], reward: done ? 1 : -0.01, terminated: done, truncated: false)
    }
}

/// A custom agent written outside the module: tabular Q-learning over any environment with a one-number
/// observation and a Discrete action space.
struct TabularQ {
    var q: [[Double]]
    var rng = Xoshiro256StarStar(seed: 1)
    init(states: Int, actions: Int) { q = Array(repeating: Array(repeating: 0, count: actions), count: states) }
    mutating func act(_ s: Int, epsilon: Double) -> Int {
        if rng.uniform() < epsilon { return rng.uniformInt(q[s].count) }
        return q[s].indices.max { q[s][$0] < q[s][$1] }!
    }
    mutating func learn(_ s: Int, _ a: Int, _ r: Double, _ s2: Int, _ terminal: Bool) {
        let target = r + (terminal ? 0 : 0.95 * q[s2].max()!)
        q[s][a] += 0.5 * (target - q[s][a])
    }
}

final class ExternalAgentTests: XCTestCase {
    func testCustomAgentLearnsACustomEnvironment() throws {
        var env = TimeLimit(Corridor(), maxSteps: 50)
        try checkEnvironment(env)
        var agent = TabularQ(states: 6, actions: 2)
        for episode in 0..<60 {
            var (o, _) = try env.reset(seed: UInt64(episode))
            while true {
                let s = Int(o[0])
                let a = agent.act(s, epsilon: 0.2)
                let step = try env.step(a)
                agent.learn(s, a, step.reward, Int(step.observation[0]), step.terminated)
                o = step.observation
                if step.done { break }
            }
        }
        // Greedy policy walks straight to the goal.
        var (o, _) = try env.reset(seed: 99)
        var steps = 0
        while true {
            let step = try env.step(agent.act(Int(o[0]), epsilon: 0))
            steps += 1
            o = step.observation
            if step.done {
                XCTAssertTrue(step.terminated)
                break
            }
        }
        XCTAssertEqual(steps, 5)
    }

    func testCustomAgentRunsAnEpisodeOfTheMicroscope() throws {
        // The microscope through the public API: a random LEONARDO with a dose calibration, the shipped spec.
        var config = LeonardoConfig.tiny
        config.length = 32
        config.latentDim = 12
        let model = try Leonardo(config: config, seed: 1)
        model.doseCalibration = DoseCalibration(
            index: 3, slope: -0.5, intercept: 0.5, pearsonR: -0.5, residualStd: 0.5,
            correlations: Array(repeating: 0, count: 12), count: 10, doseRange: [1, 100])
        var spec = try EnvironmentRegistry.spec(id: "LiquidCell-v0")
        spec.segmentFrames = 32
        var env = try FlattenObservation(try LiquidCell(spec: spec, model: model), keys: ["instrument", "features"])
        // A rule-based agent: low dose while the damage feature is high, otherwise the middle of the grid.
        var (o, _) = try env.reset(seed: 3)
        var n = 0
        var total = 0.0
        while true {
            let damage = o[LiquidCell.featureNames.count + 3]
            let action = damage > 0.5 ? 0 : 13
            let s = try env.step(action)
            XCTAssertTrue(env.observationSpace.contains(s.observation))
            total += s.reward
            n += 1
            o = s.observation
            if s.done { break }
        }
        XCTAssertGreaterThan(n, 1)
        XCTAssertTrue(total.isFinite)
    }
}

/// The package's training loop and evaluation on an environment written outside it.
final class TrainingSessionOnACustomEnvironmentTests: XCTestCase {
    func testDQNTrainsAndEvaluatesOnTheCorridorThroughTrainingSession() throws {
        let env = TimeLimit(Corridor(), maxSteps: 20)
        var hyper = DQNHyperparameters()
        hyper.totalSteps = 1_500
        hyper.learningStarts = 100
        hyper.batchSize = 16
        hyper.hiddenSizes = [16]
        hyper.explorationFraction = 0.5
        let agent = try DQNAgent(observationSize: 1, actionCount: 2, hyper: hyper, seed: 2)
        let folder = NSTemporaryDirectory() + "corridor-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var schedule = TrainingSchedule(steps: 1_500, seed: 1)
        schedule.evaluateEvery = 500
        schedule.validationSeeds = [3_000_000]
        schedule.checkpointEvery = 500
        let session = try TrainingSession(agent: agent, environment: env, schedule: schedule, folder: folder)
        XCTAssertTrue(try session.run())
        XCTAssertEqual(session.records.filter { $0.kind == .eval }.count, 3)
        // The greedy policy walks straight to the goal: five steps, return 1 − 4 · 0.01.
        var trained = session.agent
        let result = try Evaluation.run(&trained, environment: env, seeds: [1, 2])
        XCTAssertEqual(result.length.mean, 5)
        XCTAssertEqual(result.episodeReturn.mean, 0.96, accuracy: 1e-9)
        XCTAssertEqual(result.actionCounts, [0, 10])
        // The run folder resumes on the custom environment with the default loader.
        let resumed = try XCTUnwrap(TrainingSession.resume(folder: folder, environment: env, schedule: schedule))
        XCTAssertEqual(resumed.startStep, session.step)
        XCTAssertEqual(resumed.progressCSV, session.progressCSV)
    }
}

/// docs/agents.md's "Training from Swift code", through the public API only, on a small random decoder.
final class TrainingSessionFromOutsideTests: XCTestCase {
    func testTrainsDQNFromSwiftCode() throws {
        let cell = try makeEnvironment(id: "LiquidCell-v0").withSmallRandomDecoder {
            $0.segmentFrames = 32
            $0.limits.maxSteps = 10
        }
        // The example, with 60 steps instead of 20,000.
        var hyper = DQNHyperparameters()
        hyper.totalSteps = 60
        hyper.learningStarts = 20
        hyper.batchSize = 8
        let agent = try DQNAgent(
            observationSize: Evaluation.observationSize, actionCount: cell.actionSpace.n, hyper: hyper, seed: 1)
        let folder = NSTemporaryDirectory() + "outside-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var schedule = TrainingSchedule(steps: 60, seed: 1)
        schedule.evaluateEvery = 30
        schedule.validationSeeds = [3_000_000]
        let session = try TrainingSession(agent: agent, environment: cell, schedule: schedule, folder: folder)
        XCTAssertTrue(try session.run())
        var best = try PolicyFile.load(folder + "/policy-best.h5", environment: cell)
        let result = try Evaluation.run(&best, environment: cell, seeds: [1_000_000, 1_000_001])
        XCTAssertEqual(result.returns.count, 2)
        let progress = try String(contentsOfFile: folder + "/progress.csv", encoding: .utf8)
        XCTAssertEqual(progress, session.progressCSV)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/checkpoint.h5"))
    }
}
