import ArgumentParser
import Foundation
import LeonardoSim
import MicroscopeGym
import Agents

/// Makes a baseline agent for an environment.
func makeBaseline(_ kind: AgentKind, cell: LiquidCell, seed: UInt64, fixedAction: Int) -> any Agent {
    switch kind {
    case .random: return RandomAgent(actionCount: cell.actionSpace.n, seed: seed)
    case .fixed: return FixedAgent(action: fixedAction)
    case .heuristic: return HeuristicAgent(doseRates: cell.spec.doseRates, frameRates: cell.spec.frameRates)
    case .bandit: return BanditAgent(actionCount: cell.actionSpace.n)
    case .dqn, .ppo, .cem: fatalError("learning agents are not baselines")
    }
}

/// The experimenter's default setting: the grid's middle dose rate at the highest frame rate.
func defaultFixedAction(_ cell: LiquidCell) -> Int {
    (cell.spec.doseRates.count / 2) * cell.spec.frameRates.count + cell.spec.frameRates.count - 1
}

func evaluate(_ agent: any Agent, cell: LiquidCell, seeds: [UInt64]) throws -> EvaluationResult {
    var a = agent
    return try Evaluation.run(&a, environment: cell, seeds: seeds)
}
