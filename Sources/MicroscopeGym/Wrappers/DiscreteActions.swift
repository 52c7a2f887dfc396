import Foundation
import LeonardoSim

/// Presents a continuous-action environment (`Box`) with a `Discrete` action over a fixed list of its actions.
public struct DiscreteActions<Base: Environment>: ActionWrapper where Base.ActionSpace == Box {
    public var base: Base
    public let table: [[Float]]
    public let actionSpace: Discrete
    public init(_ base: Base, table: [[Float]]) throws {
        guard !table.isEmpty else { throw EnvironmentError.incompatibleSpaces("the action table is empty") }
        for (i, a) in table.enumerated() where !base.actionSpace.contains(a) {
            throw EnvironmentError.incompatibleSpaces("table entry \(i) \(a) is outside \(base.actionSpace)")
        }
        self.base = base
        self.table = table
        actionSpace = Discrete(table.count)
    }
    public func action(_ action: Int) throws -> [Float] {
        guard actionSpace.contains(action) else {
            throw EnvironmentError.actionOutsideSpace("\(action) is not in \(actionSpace)")
        }
        return table[action]
    }
}
