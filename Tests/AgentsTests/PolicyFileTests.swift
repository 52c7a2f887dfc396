import Foundation
import XCTest

@testable import Agents
@testable import LeonardoSim
@testable import MicroscopeGym

/// Every agent of `AgentKind` that saves a policy file can be loaded from it, acting as it did.
final class PolicyFileTests: XCTestCase {
    func cell() throws -> LiquidCell { try tinyLiquidCell() }

    /// A lightly trained agent of each kind (so that learned parameters differ from a fresh agent's).
    func trained(_ kind: AgentKind, _ cell: LiquidCell) throws -> any Agent {
        let size = Evaluation.observationSize(for: cell)
        let n = cell.actionSpace.n
        var agent: any Agent
        switch kind {
        case .dqn:
            var h = DQNHyperparameters()
            h.totalSteps = 60
            h.learningStarts = 10
            h.batchSize = 8
            agent = try DQNAgent(observationSize: size, actionCount: n, hyper: h, seed: 4)
        case .rdqn:
            var h = RecurrentDQNHyperparameters()
            h.totalSteps = 60
            h.learningStarts = 10
            h.batchSize = 4
            h.hiddenSize = 8
            agent = try RecurrentDQNAgent(observationSize: size, actionCount: n, hyper: h, seed: 4)
        case .ppo:
            var h = PPOHyperparameters()
            h.totalSteps = 60
            h.rolloutSteps = 16
            h.minibatches = 2
            agent = try PPOAgent(observationSize: size, actionCount: n, hyper: h, seed: 4)
        case .cem: agent = try CEMAgent(observationSize: size, actionCount: n, seed: 4)
        case .random: agent = RandomAgent(actionCount: n, seed: 4)
        case .fixed: agent = FixedAgent(action: 13)
        case .heuristic: agent = HeuristicAgent(doseRates: cell.spec.doseRates, frameRates: cell.spec.frameRates)
        case .bandit: agent = BanditAgent(actionCount: n, exploration: 0.5)
        }
        var env = try FlattenObservation(cell, keys: Evaluation.observationKeys(for: cell))
        var (o, _) = try env.reset(seed: 1)
        for _ in 0..<60 {
            let a = agent.act(o, explore: true)
            let s = try env.step(a)
            _ = agent.observe(
                Transition(
                    observation: o, action: a, reward: s.reward, nextObservation: s.observation,
                    terminated: s.terminated, done: s.done))
            o = s.observation
            if s.done {
                agent.endEpisode(return: 0)
                (o, _) = try env.reset(seed: nil)
            }
        }
        return agent
    }

    func testEveryAgentThatSavesLoadsAndActsTheSame() throws {
        let cell = try cell()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("policies-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var env = try FlattenObservation(cell, keys: Evaluation.observationKeys(for: cell))
        var observations: [[Float]] = []
        var (o, _) = try env.reset(seed: 9)
        for a in [3, 10, 17, 24, 5, 12] {
            observations.append(o)
            let s = try env.step(a)
            o = s.done ? try env.reset(seed: nil).0 : s.observation
        }
        for kind in AgentKind.allCases {
            var original = try trained(kind, cell)
            let path = folder.appendingPathComponent("\(kind.rawValue).h5").path
            try original.save(to: path)
            var loaded = try PolicyFile.load(path, environment: cell)
            XCTAssertEqual(loaded.name, kind.rawValue, "the loaded agent is the saved kind")
            guard kind != .random else { continue }  // random acts from its own seed, not from the file
            let before = observations.map { original.act($0, explore: false) }
            let after = observations.map { loaded.act($0, explore: false) }
            XCTAssertEqual(after, before, "\(kind.rawValue): the loaded policy acts as the saved one")
        }
    }

    func testDamagedBanditPoliciesAreRefused() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bandit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("b.h5").path
        try BanditAgent(actionCount: 5).save(to: path)
        XCTAssertThrowsError(try BanditAgent.load(path, actionCount: 28)) { error in
            XCTAssertTrue("\(error)".contains("5 arms"), "\(error)")
        }
    }
}
