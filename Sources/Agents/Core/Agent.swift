import Foundation
import LeonardoSim
import MicroscopeGym

/// One environment transition as agents see it (vector observations, discrete actions).
public struct Transition {
    public var observation: [Float]
    public var action: Int
    public var reward: Double
    public var nextObservation: [Float]
    /// True when the episode terminated (no bootstrapping); truncation is not termination.
    public var terminated: Bool
    public var done: Bool
    public init(
        observation: [Float], action: Int, reward: Double, nextObservation: [Float], terminated: Bool, done: Bool
    ) {
        self.observation = observation
        self.action = action
        self.reward = reward
        self.nextObservation = nextObservation
        self.terminated = terminated
        self.done = done
    }
}

/// A policy that acts on vector observations with a `Discrete(actionCount)` action space — any environment whose
/// spaces fit (e.g. a `FlattenObservation` of the liquid cell). Learning agents learn from `observe`.
public protocol Agent {
    var name: String { get }
    /// The action for `observation`; `explore` enables the agent's exploration (ε-greedy, sampling, …).
    mutating func act(_ observation: [Float], explore: Bool) -> Int
    /// Takes one transition (storing it and learning when due); returns training metrics (e.g. loss), if any.
    mutating func observe(_ transition: Transition) -> [String: Double]
    /// Called at the end of each training episode with its return (episodic learners update here).
    mutating func endEpisode(return: Double)
    /// Called before the first action of every episode: `training` for a training episode, false for evaluation
    /// (validation, test, trace, a deployed policy). Agents with memory (`RecurrentDQNAgent`) clear it here.
    mutating func beginEpisode(training: Bool)
    /// Agents with continuous actions (continuous PPO): the setting to apply, any dose rate and frame rate inside the
    /// spec's ranges, which an evaluation on a liquid cell applies instead of `act`'s grid action, and the grid action
    /// nearest to it (what the evaluation counts). Nil (the default) for agents of the discrete grid.
    mutating func setting(_ observation: [Float], explore: Bool) -> (doseRate: Double, frameRate: Double, action: Int)?
    /// Writes the agent (weights, hyper-parameters, training step) atomically to an HDF5 file.
    func save(to path: String) throws
}

public extension Agent {
    mutating func observe(_ transition: Transition) -> [String: Double] { [:] }
    mutating func endEpisode(return: Double) {}
    mutating func beginEpisode(training: Bool) {}
    mutating func setting(_ observation: [Float], explore: Bool) -> (doseRate: Double, frameRate: Double, action: Int)?
    {
        nil
    }
}
