import Foundation
import LeonardoSim

/// Truncates episodes after `maxSteps` steps (Gymnasium's `TimeLimit`).
public struct TimeLimit<Base: Environment>: Wrapper {
    public var base: Base
    public let maxSteps: Int
    public private(set) var elapsedSteps = 0
    public init(_ base: Base, maxSteps: Int) {
        precondition(maxSteps >= 1)
        self.base = base
        self.maxSteps = maxSteps
    }
    public mutating func reset(seed: UInt64?, options: [String: Double]) throws -> (Base.Observation, Info) {
        elapsedSteps = 0
        return try base.reset(seed: seed, options: options)
    }
    public mutating func step(_ action: Base.Action) throws -> Step<Base.Observation> {
        var s = try base.step(action)
        elapsedSteps += 1
        if elapsedSteps >= maxSteps && !s.terminated { s.truncated = true }
        return s
    }
}
