import ArgumentParser
import Foundation
import LeonardoSim
import MicroscopeGym
import Agents

/// A baseline agent for an environment (the registry's, with its errors as the CLI's).
func makeBaseline(_ kind: AgentKind, cell: LiquidCell, seed: UInt64, fixedAction: Int) throws -> any Agent {
    do { return try kind.makeBaseline(for: cell, seed: seed, fixedAction: fixedAction) } catch let e as AgentError {
        throw UserError(e.description)
    }
}
