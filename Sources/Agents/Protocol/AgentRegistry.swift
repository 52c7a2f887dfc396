import Foundation
import LeonardoSim
import MicroscopeGym

/// The agent registry: `AgentKind` lists the agents and describes them (`summary`, `learns`, `resumable`),
/// `RunConfiguration.makeAgent(for:)` makes a learner with its hyper-parameters, `makeBaseline(for:seed:fixedAction:)`
/// makes a baseline, and `PolicyFile.load` loads what any of them saved.
extension AgentKind {
    /// A baseline agent (random, fixed, heuristic, bandit) for `cell`; throws for a learning agent.
    public func makeBaseline(for cell: LiquidCell, seed: UInt64, fixedAction: Int) throws -> any Agent {
        switch self {
        case .random: return RandomAgent(actionCount: cell.actionSpace.n, seed: seed)
        case .fixed:
            guard cell.actionSpace.contains(fixedAction) else {
                throw AgentError.incompatible("the fixed action \(fixedAction) is not in \(cell.actionSpace)")
            }
            return FixedAgent(action: fixedAction)
        case .heuristic: return HeuristicAgent(doseRates: cell.spec.doseRates, frameRates: cell.spec.frameRates)
        case .bandit: return BanditAgent(actionCount: cell.actionSpace.n)
        case .dqn, .rdqn, .ppo, .cem:
            throw AgentError.incompatible("\(rawValue) learns: make it from a RunConfiguration")
        }
    }

    /// The baselines every training run is compared with, in the summary's order.
    public static let comparedBaselines: [AgentKind] = [.random, .fixed, .heuristic]

    /// The experimenter's default setting: the grid's middle dose rate at the highest frame rate.
    public static func defaultFixedAction(_ cell: LiquidCell) -> Int {
        (cell.spec.doseRates.count / 2) * cell.spec.frameRates.count + cell.spec.frameRates.count - 1
    }
}
