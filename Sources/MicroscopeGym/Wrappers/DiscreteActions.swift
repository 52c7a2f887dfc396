import Foundation
import LeonardoSim

/// Presents a continuous-action environment (`Box`) with a `Discrete` action over a fixed list of its actions.
public struct DiscreteActions<Base: Environment>: Environment where Base.ActionSpace == Box {
    public var base: Base
    public let table: [[Float]]
    public let actionSpace: Discrete
    public init(_ base: Base, table: [[Float]]) throws {
        guard !table.isEmpty else { throw EnvironmentError.incompatibleSpaces("the action table is empty") }
        for (i, a) in table.enumerated() where !base.actionSpace.contains(a) {
            throw EnvironmentError.incompatibleSpaces("table entry \(i) \(a) is outside \(base.actionSpace)")
        }
        self.base = base; self.table = table; actionSpace = Discrete(table.count)
    }
    public var observationSpace: Base.ObservationSpace { base.observationSpace }
    public mutating func reset(seed: UInt64?, options: [String: Double]) throws -> (Base.Observation, Info) {
        try base.reset(seed: seed, options: options)
    }
    public mutating func step(_ action: Int) throws -> Step<Base.Observation> {
        guard actionSpace.contains(action) else { throw EnvironmentError.actionOutsideSpace("\(action) is not in \(actionSpace)") }
        return try base.step(table[action])
    }
}
