import Foundation
import LeonardoSim

/// Records each episode's return and length; they appear in the last step's info as `episode_return` and
/// `episode_length` (Gymnasium's `RecordEpisodeStatistics`), and in `completed`.
public struct EpisodeStatistics<Base: Environment>: Wrapper {
    public var base: Base
    public private(set) var episodeReturn = 0.0
    public private(set) var episodeLength = 0
    /// (return, length) of every finished episode, oldest first.
    public private(set) var completed: [(episodeReturn: Double, length: Int)] = []
    public init(_ base: Base) { self.base = base }
    public mutating func reset(seed: UInt64?, options: [String: Double]) throws -> (Base.Observation, Info) {
        episodeReturn = 0
        episodeLength = 0
        return try base.reset(seed: seed, options: options)
    }
    public mutating func step(_ action: Base.Action) throws -> Step<Base.Observation> {
        var s = try base.step(action)
        episodeReturn += s.reward
        episodeLength += 1
        if s.done {
            s.info["episode_return"] = episodeReturn
            s.info["episode_length"] = Double(episodeLength)
            completed.append((episodeReturn, episodeLength))
        }
        return s
    }
}
