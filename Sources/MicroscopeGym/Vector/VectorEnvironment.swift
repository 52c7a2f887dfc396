import Foundation
import LeonardoSim

/// One step of N environments.
public struct VectorStep<Observation> {
    public var observations: [Observation]
    public var rewards: [Double]
    public var terminated: [Bool]
    public var truncated: [Bool]
    public var infos: [Info]
    /// For environments whose episode ended in this step: the last observation of that episode (the entry of
    /// `observations` is already the first observation of the next one).
    public var finalObservations: [Observation?]
    /// For environments whose episode ended in this step: the `info` of the next episode's `reset` (`infos` keeps
    /// the step's own info, that of the ended episode's last step).
    public var resetInfos: [Info?]
}

/// N copies of an environment stepped together, with automatic reset: when a copy's episode ends, the step
/// returns its final observation in `finalObservations` and the next episode's first observation in
/// `observations` (same-step auto-reset). Copy i is seeded with seed + i on the first reset.
public struct VectorEnvironment<E: Environment> {
    public private(set) var environments: [E]
    public var count: Int { environments.count }
    public init(_ make: () throws -> E, count: Int) rethrows {
        precondition(count >= 1)
        environments = try (0..<count).map { _ in try make() }
    }
    public mutating func reset(seed: UInt64?) throws -> [E.Observation] {
        try (0..<count).map { i in try environments[i].reset(seed: seed.map { $0 &+ UInt64(i) }, options: [:]).0 }
    }
    public mutating func step(_ actions: [E.Action]) throws -> VectorStep<E.Observation> {
        precondition(actions.count == count, "one action per environment")
        var steps: [Step<E.Observation>] = []
        for i in 0..<count { steps.append(try environments[i].step(actions[i])) }
        return try VectorEnvironment.autoReset(
            steps, reset: { i in try environments[i].reset(seed: nil, options: [:]) })
    }

    static func autoReset(_ steps: [Step<E.Observation>], reset: (Int) throws -> (E.Observation, Info)) rethrows
        -> VectorStep<E.Observation>
    {
        var out = VectorStep<E.Observation>(
            observations: [], rewards: [], terminated: [], truncated: [], infos: [], finalObservations: [],
            resetInfos: [])
        for (i, s) in steps.enumerated() {
            out.rewards.append(s.reward)
            out.terminated.append(s.terminated)
            out.truncated.append(s.truncated)
            out.infos.append(s.info)
            if s.done {
                out.finalObservations.append(s.observation)
                let (observation, info) = try reset(i)
                out.observations.append(observation)
                out.resetInfos.append(info)
            } else {
                out.finalObservations.append(nil)
                out.resetInfos.append(nil)
                out.observations.append(s.observation)
            }
        }
        return out
    }
}
