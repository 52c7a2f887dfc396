import Foundation
import LeonardoSim

/// An environment around another (Gymnasium's `Wrapper`): by default it forwards the spaces, `reset` and `step` to
/// `base`, so a wrapper implements only what it changes.
public protocol Wrapper: Environment {
    associatedtype Base: Environment
    var base: Base { get set }
}

extension Wrapper where ObservationSpace == Base.ObservationSpace {
    public var observationSpace: ObservationSpace { base.observationSpace }
}

extension Wrapper where ActionSpace == Base.ActionSpace {
    public var actionSpace: ActionSpace { base.actionSpace }
}

extension Wrapper where ObservationSpace == Base.ObservationSpace {
    public mutating func reset(seed: UInt64?, options: [String: Double]) throws -> (Observation, Info) {
        try base.reset(seed: seed, options: options)
    }
}

extension Wrapper where ObservationSpace == Base.ObservationSpace, ActionSpace == Base.ActionSpace {
    public mutating func step(_ action: Action) throws -> Step<Observation> { try base.step(action) }
}

/// A wrapper that changes observations only (Gymnasium's `ObservationWrapper`): implement `observation(_:)` and the
/// observation space; `reset` and `step` pass every observation through it.
public protocol ObservationWrapper: Wrapper where ActionSpace == Base.ActionSpace {
    mutating func observation(_ observation: Base.Observation) -> Observation
}

extension ObservationWrapper {
    public mutating func reset(seed: UInt64?, options: [String: Double]) throws -> (Observation, Info) {
        let (o, info) = try base.reset(seed: seed, options: options)
        return (observation(o), info)
    }

    public mutating func step(_ action: Action) throws -> Step<Observation> {
        let s = try base.step(action)
        return s.mapObservation { observation($0) }
    }
}

/// A wrapper that changes actions only (Gymnasium's `ActionWrapper`): implement `action(_:)` (throwing for actions
/// outside `actionSpace`) and the action space; `step` passes every action through it.
public protocol ActionWrapper: Wrapper where ObservationSpace == Base.ObservationSpace {
    func action(_ action: Action) throws -> Base.Action
}

extension ActionWrapper {
    public mutating func step(_ action: Action) throws -> Step<Observation> { try base.step(self.action(action)) }
}
