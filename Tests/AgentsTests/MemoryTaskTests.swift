import Foundation
import XCTest

@testable import Agents
@testable import LeonardoSim
@testable import MicroscopeGym

/// A memory task: a cue (±1) shown only in the first observation; three steps later the action must name it
/// (reward 1, else 0). A memoryless agent sees the same last observation whatever the cue: its best is 0.5.
struct CueTask: Environment {
    var rng = Xoshiro256StarStar(seed: 0)
    var cue = 0
    var t = 3
    var observationSpace: Box { Box(shape: [2], low: -1, high: 1) }
    var actionSpace: Discrete { Discrete(2) }

    mutating func reset(seed: UInt64?, options: [String: Double]) throws -> ([Float], Info) {
        if let seed { rng = Xoshiro256StarStar(seed: seed) }
        cue = rng.uniformInt(2)
        t = 0
        return ([cue == 1 ? 1 : -1, 0], [:])
    }

    mutating func step(_ action: Int) throws -> Step<[Float]> {
        guard t < 3 else { throw EnvironmentError.stepAfterEpisodeEnd }
        guard actionSpace.contains(action) else { throw EnvironmentError.actionOutsideSpace("\(action)") }
        t += 1
        let done = t == 3
        return Step(
            observation: [0, Float(t) / 3], reward: done && action == cue ? 1 : 0, terminated: done,
            truncated: false)
    }
}

/// Trains `agent` for 3,000 steps through `TrainingSession` on `env` (a `CueTask` or a wrapper of it) and returns the
/// greedy policy's mean return on 50 new seeds.
func cueTaskReturn<A: Agent, E: Environment>(after agent: A, on env: E) throws -> Double
where E.ObservationSpace == Box, E.ActionSpace == Discrete {
    var schedule = TrainingSchedule(steps: 3_000, seed: 2)
    schedule.evaluateEvery = 3_000
    schedule.validationSeeds = [3_000_000]
    schedule.selectOnValidation = false
    let session = try TrainingSession(agent: agent, environment: env, schedule: schedule, folder: nil)
    guard try session.run() else { throw AgentError.incompatible("the cue-task session stopped early") }
    var trained = session.agent
    return try Evaluation.run(&trained, environment: env, seeds: (0..<50).map { 1_000_000 + UInt64($0) })
        .episodeReturn.mean
}

final class MemoryTaskTests: XCTestCase {
    /// Trains DQN through `TrainingSession` on `env` and returns the greedy policy's mean return on 50 new seeds.
    func trainedReturn<E: Environment>(_ env: E, observationSize: Int) throws -> Double
    where E.ObservationSpace == Box, E.ActionSpace == Discrete {
        var hyper = DQNHyperparameters()
        hyper.totalSteps = 3_000
        hyper.learningStarts = 200
        hyper.batchSize = 32
        hyper.hiddenSizes = [32]
        hyper.explorationFraction = 0.5
        hyper.targetUpdateFrequency = 100
        let agent = try DQNAgent(observationSize: observationSize, actionCount: 2, hyper: hyper, seed: 4)
        return try cueTaskReturn(after: agent, on: env)
    }

    func testHistorySolvesWhatAMemorylessAgentCannot() throws {
        let memoryless = try trainedReturn(CueTask(), observationSize: 2)
        let withHistory = try trainedReturn(try ObservationHistory(CueTask(), length: 3), observationSize: 6)
        XCTAssertGreaterThan(withHistory, 0.95, "DQN with the last three observations")
        XCTAssertLessThan(memoryless, 0.75, "a memoryless DQN cannot know the cue")
    }

    func testTheHistoryStacksOldestFirstAndRefillsOnReset() throws {
        var env = try ObservationHistory(CueTask(), length: 3)
        XCTAssertEqual(env.observationSpace.shape, [6])
        try checkEnvironment(env)
        let (o0, _) = try env.reset(seed: 1)
        XCTAssertEqual(o0, Array([[Float]](repeating: Array(o0[0..<2]), count: 3).joined()))
        let o1 = try env.step(0).observation
        XCTAssertEqual(Array(o1[0..<4]), Array(o0[2..<6]))
        XCTAssertEqual(Array(o1[4..<6]), [0, Float(1) / 3])
        XCTAssertTrue(env.observationSpace.contains(o1))
        XCTAssertThrowsError(try ObservationHistory(CueTask(), length: 0))
    }
}
