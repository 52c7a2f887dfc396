import Foundation
import XCTest

@testable import Agents
@testable import LeonardoSim
@testable import MicroscopeGym

/// The experiment protocol as library types: the seed plan, the run configuration (config.json) and the final
/// evaluation (summary.json).
final class RunProtocolTests: XCTestCase {
    func testSeedRangesNeverMeet() {
        let plan = SeedPlan.standard
        // The CLI's largest counts: 100,000 test and validation episodes, a sweep of 10,000 episodes per setting.
        let test = plan.testSeeds(100_000)
        let sweep = plan.sweepSeeds(10_000)
        let validation = plan.validationSeeds(100_000)
        XCTAssertEqual(test.first, 1_000_000)
        XCTAssertEqual(validation.first, 3_000_000)
        XCTAssertEqual(sweep.first, 2_000_000)
        let evaluation = Set(test).union(sweep).union(validation)
        XCTAssertEqual(evaluation.count, test.count + sweep.count + validation.count, "the evaluation ranges overlap")
        XCTAssertLessThan(evaluation.max()!, 1 << 63)
        for seed: UInt64 in [0, 1, 2, 3, 7, 1_000_000, .max] {
            for k in [0, 1, 3, 29, 199, 100_000] {
                let s = plan.trainingSeed(seed, episode: k)
                XCTAssertGreaterThanOrEqual(s, 1 << 63)
                XCTAssertFalse(evaluation.contains(s))
            }
        }
        // The legacy plan is the one that leaked: run seed 1's training episode k was test seed k + 3.
        XCTAssertEqual(SeedPlan.legacy.trainingSeed(1, episode: 0), plan.testSeeds(4)[3])
        XCTAssertEqual(SeedPlan.legacy.trainingSeed(3, episode: 0), plan.validationSeeds(10)[9])
    }

    func testConfigurationRoundTripsAndNamesItsDifferences() throws {
        let cell = try tinyLiquidCell()
        var c = RunConfiguration(agent: .dqn, environment: cell, steps: 500, seed: 7)
        c.arguments = ["--steps", "500", "--seed", "7"]
        let decoded = try JSONDecoder().decode(RunConfiguration.self, from: c.json())
        XCTAssertEqual(decoded, c)
        XCTAssertEqual(try c.differences(to: decoded), [])
        XCTAssertEqual(c.dqn?.totalSteps, 500)
        XCTAssertEqual(c.schedule.validationSeeds, SeedPlan.standard.validationSeeds(10))
        XCTAssertEqual(c.testSeeds, SeedPlan.standard.testSeeds(30))
        // Records (arguments, kernels) are not part of the run's identity; everything else is.
        var other = c
        other.arguments = []
        other.openblasKernel = "Prescott"
        XCTAssertEqual(try c.differences(to: other), [])
        other.seed = 8
        other.dqn?.hiddenSizes = [32]
        XCTAssertEqual(try c.differences(to: other), ["dqn.hiddenSizes: [64,64] → [32]", "seed: 7 → 8"])
        // A config.json of an older version (no seed plan) reads with the plan it ran with.
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: c.json()) as? [String: Any])
        object["seed_plan"] = nil
        let old = try JSONDecoder().decode(
            RunConfiguration.self, from: JSONSerialization.data(withJSONObject: object))
        XCTAssertEqual(old.seedPlan, .legacy)
        XCTAssertEqual(old.schedule.episodeSeed(3), 7 * 1_000_003 + 3)
        XCTAssertEqual(c.schedule.episodeSeed(3), (7 * 1_000_003 + 3) | (1 << 63))
    }

    func testConfigurationMakesEveryAgentAndRefusesAnotherLayout() throws {
        let cell = try tinyLiquidCell()
        for kind in AgentKind.allCases {
            let agent = try RunConfiguration(agent: kind, environment: cell, steps: 100, seed: 1).makeAgent(for: cell)
            XCTAssertEqual(agent.name.lowercased().contains(kind.rawValue), true, "\(kind) made \(agent.name)")
        }
        let privileged = RunConfiguration(agent: .dqn, environment: cell.revealingHiddenState(), steps: 100, seed: 1)
        XCTAssertTrue(privileged.privileged)
        XCTAssertThrowsError(try privileged.makeAgent(for: cell))
        XCTAssertThrowsError(try AgentKind.fixed.makeBaseline(for: cell, seed: 1, fixedAction: 28))
        XCTAssertThrowsError(try AgentKind.dqn.makeBaseline(for: cell, seed: 1, fixedAction: 0))
    }

    func testFinalEvaluationIsPairedOnTheTestSeedsAndRoundTrips() throws {
        let cell = try tinyLiquidCell()
        var c = RunConfiguration(agent: .heuristic, environment: cell, steps: 10, seed: 1)
        c.testEpisodes = 4
        c.sweepEpisodes = 1
        let policy = try c.makeAgent(for: cell)
        let summary = try RunSummary.evaluate(policy: policy, finalPolicy: nil, configuration: c, environment: cell)
        XCTAssertEqual(Set(summary.results.keys), ["heuristic", "random", "fixed", "best_fixed"])
        XCTAssertEqual(summary.testSeeds, [1_000_000, 1_000_001, 1_000_002, 1_000_003])
        // Every row ran on the test seeds: each matches an independent evaluation of its agent on them.
        var fixed = FixedAgent(action: c.fixedAction)
        XCTAssertEqual(
            summary.results["fixed"], try Evaluation.run(&fixed, environment: cell, seeds: summary.testSeeds))
        // The best fixed action is the sweep's argmax, on the sweep seeds, not on the test seeds.
        let best = try XCTUnwrap(summary.bestFixedSetting)
        var means: [Double] = []
        for a in 0..<cell.actionSpace.n {
            var agent = FixedAgent(action: a)
            means.append(try Evaluation.run(&agent, environment: cell, seeds: [2_000_000]).episodeReturn.mean)
        }
        XCTAssertEqual(best.action, means.firstIndex(of: means.max()!))
        XCTAssertEqual(best.doseRate, cell.setting(for: best.action).doseRate)
        // Paired: the mean of the per-seed differences.
        let h = summary.results["heuristic"]!.returns
        let b = summary.results["best_fixed"]!.returns
        let paired = try XCTUnwrap(summary.pairedMinusBestFixed?["heuristic"])
        XCTAssertEqual(paired.mean, zip(h, b).map { $0 - $1 }.reduce(0, +) / 4, accuracy: 1e-12)
        XCTAssertEqual(paired.count, 4)
        // summary.json: row names at the top level beside the bookkeeping, and back.
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: summary.json()) as? [String: Any])
        XCTAssertNotNil(object["heuristic"] as? [String: Any])
        XCTAssertEqual(object["test_seeds"] as? [Int], [1_000_000, 1_000_001, 1_000_002, 1_000_003])
        XCTAssertEqual(try JSONDecoder().decode(RunSummary.self, from: summary.json()), summary)
        // A row may not take a bookkeeping key's name.
        var bad = summary
        bad.results["steps"] = summary.results["fixed"]
        XCTAssertThrowsError(try bad.json())
    }

    func testPairedVerdicts() {
        XCTAssertEqual(PairedVerdict(Estimate([1, 1.2, 0.9, 1.1])), .above)
        XCTAssertEqual(PairedVerdict(Estimate([-1, -1.2, -0.9, -1.1])), .below)
        XCTAssertEqual(PairedVerdict(Estimate([-1, 1, -1, 1])), .includesZero)
        XCTAssertEqual(PairedVerdict(Estimate([1])), .tooFew)
    }

    func testStudyTableAveragesThePerSeedFiguresOfEachPair() {
        func run(_ agent: String, _ env: String, seed: UInt64, agentReturns: [Double], best: [Double]) -> RunSummary {
            func result(_ xs: [Double]) -> EvaluationResult {
                EvaluationResult(
                    episodeReturn: Estimate(xs), signal: Estimate(xs), damage: Estimate(xs), length: Estimate(xs),
                    returns: xs)
            }
            let a = result(agentReturns)
            let b = result(best)
            return RunSummary(
                environment: env, agent: agent, steps: 10, seed: seed, testSeeds: [1, 2], validationSeeds: [3],
                selectedStep: 10, wallSeconds: 0, trainingTimeSeconds: [:], results: [agent: a, "best_fixed": b],
                pairedMinusBestFixed: [agent: a.pairedDifference(minus: b)])
        }
        let runs = [
            run("dqn", "A", seed: 1, agentReturns: [1, 3], best: [0, 0]),
            run("dqn", "A", seed: 2, agentReturns: [5, 7], best: [1, 1]),
            run("dqn", "B", seed: 1, agentReturns: [2, 2], best: [4, 4])
        ]
        let table = StudyTable(runs: runs, agents: ["dqn", "ppo"], environments: ["A", "B"])
        XCTAssertEqual(table.rows.map { "\($0.agent)/\($0.environment)" }, ["dqn/A", "dqn/B", "ppo/A", "ppo/B"])
        let a = table.rows[0]
        XCTAssertEqual(a.seeds, 2)
        XCTAssertEqual(a.testReturn, Estimate([2, 6]))  // per-seed means 2 and 6
        XCTAssertEqual(a.bestFixed, Estimate([0, 1]))
        XCTAssertEqual(a.agentMinusBestFixed, Estimate([2, 5]))
        XCTAssertEqual(table.rows[1].agentMinusBestFixed?.mean, -2)
        XCTAssertEqual(table.rows[1].seeds, 1)
        XCTAssertNil(table.rows[2].testReturn)
        XCTAssertEqual(table.rows[2].seeds, 0)
    }
}
