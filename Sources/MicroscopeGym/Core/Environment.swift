import Foundation
import LeonardoSim

/// Extra diagnostic values returned by `reset` and `step` (Gymnasium's `info`).
public typealias Info = [String: Double]

/// What one environment step returns (Gymnasium's 5-tuple).
public struct Step<Observation> {
    public var observation: Observation
    public var reward: Double
    /// The episode ended inside the task (e.g. the specimen was destroyed); bootstrapping stops here.
    public var terminated: Bool
    /// The episode was cut short from outside the task (time or dose budget); the state is not terminal.
    public var truncated: Bool
    public var info: Info

    public init(observation: Observation, reward: Double, terminated: Bool, truncated: Bool, info: Info = [:]) {
        self.observation = observation
        self.reward = reward
        self.terminated = terminated
        self.truncated = truncated
        self.info = info
    }

    public var done: Bool { terminated || truncated }

    /// The same step with its observation transformed (for observation wrappers).
    public func mapObservation<T>(_ transform: (Observation) throws -> T) rethrows -> Step<T> {
        Step<T>(
            observation: try transform(observation), reward: reward, terminated: terminated, truncated: truncated,
            info: info)
    }
}

/// A reinforcement-learning environment with Gymnasium's semantics, in Swift.
///
/// - `reset(seed:)` starts an episode. A seed re-seeds the environment's generator, so the same seed and
///   the same actions give bit-identical observations and rewards; `nil` continues the current generator.
/// - `step(_:)` advances one step. Actions outside `actionSpace` and steps after the episode ended (without
///   `reset`) throw; nothing is clamped silently.
///
/// Environments are usually value types holding their state; copies evolve independently except for shared
/// read-only resources (a LEONARDO decoder is shared and must be stepped from one thread at a time).
public protocol Environment {
    associatedtype ObservationSpace: Space
    associatedtype ActionSpace: Space
    typealias Observation = ObservationSpace.Element
    typealias Action = ActionSpace.Element

    var observationSpace: ObservationSpace { get }
    var actionSpace: ActionSpace { get }

    mutating func reset(seed: UInt64?, options: [String: Double]) throws -> (Observation, Info)
    mutating func step(_ action: Action) throws -> Step<Observation>
}

public extension Environment {
    /// `reset(seed:options:)` without options.
    mutating func reset(seed: UInt64? = nil) throws -> (Observation, Info) { try reset(seed: seed, options: [:]) }
}
