import Foundation
import XCTest
import LeonardoSim
import MicroscopeGym
@testable import Agents

/// A chain of `length` states built with the public API: observation one-hot of the position; action 1 moves
/// right, 0 moves left (with a small reward 0.01 for staying at the left end, a trap for myopic agents);
/// the right end pays 1 and terminates.
struct Chain: Environment {
    let length = 7
    var position = 0
    var observationSpace: Box { Box(shape: [length], low: 0, high: 1) }
    var actionSpace: Discrete { Discrete(2) }
    func observation() -> [Float] { (0..<length).map { $0 == position ? 1 : 0 } }
    mutating func reset(seed: UInt64?, options: [String: Double]) throws -> ([Float], Info) {
        position = 0
        return (observation(), [:])
    }
    mutating func step(_ action: Int) throws -> Step<[Float]> {
        guard actionSpace.contains(action) else { throw EnvironmentError.actionOutsideSpace("\(action)") }
        position = max(0, min(length - 1, position + (action == 1 ? 1 : -1)))
        let done = position == length - 1
        let reward: Double = done ? 1 : (position == 0 ? 0.01 : 0)
        return Step(observation: observation(), reward: reward, terminated: done, truncated: false)
    }
}

/// Runs `steps` training steps of `agent` on a time-limited chain.
func train<A: Agent>(_ agent: inout A, steps: Int, maxEpisodeSteps: Int = 30) throws {
    var env = TimeLimit(Chain(), maxSteps: maxEpisodeSteps)
    var (o, _) = try env.reset(seed: 0)
    var total = 0.0
    for _ in 0..<steps {
        let a = agent.act(o, explore: true)
        let s = try env.step(a)
        _ = agent.observe(
            Transition(
                observation: o, action: a, reward: s.reward, nextObservation: s.observation, terminated: s.terminated,
                done: s.done))
        total += s.reward
        o = s.observation
        if s.done {
            agent.endEpisode(return: total)
            total = 0
            (o, _) = try env.reset(seed: nil)
        }
    }
}

/// Steps of the greedy policy to the goal (nil if it does not get there within 30 steps).
func greedySteps<A: Agent>(_ agent: inout A) throws -> Int? {
    var env = TimeLimit(Chain(), maxSteps: 30)
    var (o, _) = try env.reset(seed: 0)
    for n in 1...30 {
        let s = try env.step(agent.act(o, explore: false))
        if s.terminated { return n }
        if s.done { return nil }
        o = s.observation
    }
    return nil
}

func smallDQN(total: Int) -> DQNHyperparameters {
    var h = DQNHyperparameters()
    h.bufferSize = 5_000
    h.batchSize = 32
    h.learningStarts = 200
    h.targetUpdateFrequency = 100
    h.hiddenSizes = [32]
    h.totalSteps = total
    h.explorationFraction = 0.5
    h.trainFrequency = 1
    h.gamma = 0.95
    return h
}

final class AgentTests: XCTestCase {
    func testDQNSolvesTheChain() throws {
        var agent = try DQNAgent(observationSize: 7, actionCount: 2, hyper: smallDQN(total: 4_000), seed: 3)
        XCTAssertNil(try greedySteps(&agent), "an untrained network should not already solve the chain")
        try train(&agent, steps: 4_000)
        XCTAssertEqual(try greedySteps(&agent), 6, "the greedy policy walks straight to the goal")
        // Q-values order: at the start, right beats left by a clear margin.
        let q = agent.qValues([1, 0, 0, 0, 0, 0, 0])
        XCTAssertGreaterThan(q[1], q[0])
    }

    func testUCBBanditFindsTheBestArm() throws {
        var bandit = BanditAgent(actionCount: 4)
        var rng = Xoshiro256StarStar(seed: 2)
        let means = [0.1, 0.5, 0.3, 0.45]
        for _ in 0..<3_000 {
            let a = bandit.act([], explore: true)
            _ = bandit.observe(
                Transition(
                    observation: [], action: a, reward: means[a] + 0.3 * rng.normal(), nextObservation: [],
                    terminated: false, done: false))
        }
        XCTAssertEqual(bandit.act([], explore: false), 1)
        XCTAssertGreaterThan(bandit.counts[1], bandit.counts[0] * 5)
    }

    func testDQNPolicyRoundTripIsBitIdentical() throws {
        let agent = try DQNAgent(observationSize: 7, actionCount: 2, hyper: smallDQN(total: 600), seed: 4)
        var a = agent
        try train(&a, steps: 600)
        let path = NSTemporaryDirectory() + "dqn-\(getpid()).h5"
        try agent.save(to: path)
        let back = try DQNAgent.load(path)
        for s in 0..<7 {
            let o: [Float] = (0..<7).map { $0 == s ? 1 : 0 }
            XCTAssertEqual(agent.qValues(o).map(\.bitPattern), back.qValues(o).map(\.bitPattern))
        }
        XCTAssertEqual(back.step, agent.step)
        XCTAssertEqual(back.hyper, agent.hyper)
        try Data("junk".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try DQNAgent.load(path))
    }

    func testMultiStepTargetsSumDiscountedRewardsWithinOneEpisode() throws {
        var h = smallDQN(total: 100)
        h.multiStep = 3
        h.gamma = 0.5
        h.learningStarts = 1_000  // no learning: only the replay contents matter
        let agent = try DQNAgent(observationSize: 1, actionCount: 2, hyper: h, seed: 1)
        // Episode 1: rewards 1, 2, 4, 8, terminal at the 4th step. Episode 2: rewards 16, 32, truncated (done, not terminal).
        let e1: [(Float, Double)] = [(0, 1), (1, 2), (2, 4), (3, 8)]
        for (k, (o, r)) in e1.enumerated() {
            _ = agent.observe(
                Transition(
                    observation: [o], action: k % 2, reward: r, nextObservation: [o + 1],
                    terminated: k == 3, done: k == 3))
        }
        for (k, (o, r)) in [(Float(10), 16.0), (11, 32)].enumerated() {
            _ = agent.observe(
                Transition(
                    observation: [o], action: 0, reward: r, nextObservation: [o + 1],
                    terminated: false, done: k == 1))
        }
        XCTAssertEqual(agent.bufCount, 6)
        // Stored in order: starts 0, 1 (full windows of 3), then 2, 3 flushed at the terminal step; then 10, 11.
        XCTAssertEqual(Array(agent.bufObs[0..<6]), [0, 1, 2, 3, 10, 11])
        // 1 + ½·2 + ¼·4, 2 + ½·4 + ¼·8, 4 + ½·8, 8 | 16 + ½·32, 32
        let expected: [Float] = [3, 6, 8, 8, 32, 32]
        XCTAssertEqual(Array(agent.bufReward[0..<6]), expected)
        XCTAssertEqual(Array(agent.bufSteps[0..<6]), [3, 3, 2, 1, 2, 1])
        XCTAssertEqual(
            Array(agent.bufNext[0..<6]), [3, 4, 4, 4, 12, 12], "bootstrap from the observation after the window")
        XCTAssertEqual(
            Array(agent.bufTerminal[0..<6]), [0, 1, 1, 1, 0, 0],
            "only windows reaching the terminal step stop bootstrapping")
        XCTAssertTrue(agent.pendingAction.isEmpty)
    }

    func testResumeContinuesBitForBit() throws {
        // Uninterrupted: 800 steps. Interrupted: 400 steps, full checkpoint, load, 400 more. Same network.
        let straight = try DQNAgent(observationSize: 7, actionCount: 2, hyper: smallDQN(total: 800), seed: 5)
        var env = TimeLimit(Chain(), maxSteps: 30)
        // A fixed, agent-independent stream of transitions so both runs see the same data.
        var transitions: [Transition] = []
        var rng = Xoshiro256StarStar(seed: 6)
        var (o, _) = try env.reset(seed: 0)
        for _ in 0..<800 {
            let a = rng.uniformInt(2)
            let s = try env.step(a)
            transitions.append(
                Transition(
                    observation: o, action: a, reward: s.reward, nextObservation: s.observation,
                    terminated: s.terminated, done: s.done))
            o = s.observation
            if s.done { (o, _) = try env.reset(seed: nil) }
        }
        for t in transitions {
            _ = straight.observe(t)
            _ = straight.act(t.observation, explore: true)
        }
        let first = try DQNAgent(observationSize: 7, actionCount: 2, hyper: smallDQN(total: 800), seed: 5)
        for t in transitions[0..<400] {
            _ = first.observe(t)
            _ = first.act(t.observation, explore: true)
        }
        let path = NSTemporaryDirectory() + "dqn-full-\(getpid()).h5"
        try first.save(to: path, full: true)
        let resumed = try DQNAgent.load(path)
        for t in transitions[400...] {
            _ = resumed.observe(t)
            _ = resumed.act(t.observation, explore: true)
        }
        for s in 0..<7 {
            let obs: [Float] = (0..<7).map { $0 == s ? 1 : 0 }
            XCTAssertEqual(
                straight.qValues(obs).map(\.bitPattern), resumed.qValues(obs).map(\.bitPattern), "state \(s)")
        }
    }

    func testHyperparameterValidationNamesTheField() {
        var h = DQNHyperparameters()
        h.gamma = 1.5
        XCTAssertThrowsError(try h.validate()) { XCTAssertTrue("\($0)".contains("gamma")) }
        h = DQNHyperparameters()
        h.learningStarts = 1
        XCTAssertThrowsError(try h.validate()) { XCTAssertTrue("\($0)".contains("learning-starts")) }
    }

    func testMLPGradientsMatchFiniteDifferences() {
        let mlp = MLP(sizes: [3, 5, 2], seed: 9)
        let x: [Float] = [0.3, -0.7, 1.1, 0.5, 0.2, -0.4]
        let w: [Float] = [0.7, -1.3, 0.4, 0.9]  // loss = Σ w·y
        func loss() -> Double {
            let y = x.withUnsafeBufferPointer { mlp.forward($0.baseAddress!, rows: 2) }
            return (0..<4).reduce(0.0) { $0 + Double(w[$1] * y[$1]) }
        }
        mlp.parameters.zeroGrads()
        _ = loss()
        w.withUnsafeBufferPointer { mlp.backward($0.baseAddress!, rows: 2) }
        let p = mlp.parameters.values
        let g = mlp.parameters.grads
        for i in 0..<mlp.parameters.count {
            let old = p[i]
            let h: Float = 1e-2
            p[i] = old + h
            let up = loss()
            p[i] = old - h
            let down = loss()
            p[i] = old
            XCTAssertEqual(Double(g[i]), (up - down) / Double(2 * h), accuracy: 2e-3, "parameter \(i)")
        }
    }
}

final class CEMTests: XCTestCase {
    func testCEMSolvesTheChainAndRoundTrips() throws {
        var h = CEMHyperparameters()
        h.population = 12
        h.initialStd = 1
        var agent = try CEMAgent(observationSize: 7, actionCount: 2, hyper: h, seed: 7)
        try train(&agent, steps: 6_000, maxEpisodeSteps: 20)
        XCTAssertGreaterThan(agent.generation, 5)
        XCTAssertEqual(try greedySteps(&agent), 6)
        let path = NSTemporaryDirectory() + "cem-\(getpid()).h5"
        try agent.save(to: path)
        var back = try CEMAgent.load(path)
        XCTAssertEqual(back.mean, agent.mean)
        XCTAssertEqual(try greedySteps(&back), 6)
    }
}
