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
        return try VectorEnvironment.autoReset(steps, reset: { i in try environments[i].reset(seed: nil, options: [:]).0 })
    }

    static func autoReset(_ steps: [Step<E.Observation>], reset: (Int) throws -> E.Observation) rethrows -> VectorStep<E.Observation> {
        var out = VectorStep<E.Observation>(observations: [], rewards: [], terminated: [], truncated: [], infos: [], finalObservations: [])
        for (i, s) in steps.enumerated() {
            out.rewards.append(s.reward); out.terminated.append(s.terminated); out.truncated.append(s.truncated)
            out.infos.append(s.info)
            if s.done {
                out.finalObservations.append(s.observation)
                out.observations.append(try reset(i))
            } else {
                out.finalObservations.append(nil)
                out.observations.append(s.observation)
            }
        }
        return out
    }
}

/// N liquid cells whose decoder calls are batched: every step decodes the latents of all N environments in
/// one `Leonardo.decode` call (one set of large GEMMs instead of N small ones). Same results as stepping the
/// copies one by one (the decoder is deterministic per trajectory up to float rounding of the batch size).
public struct LiquidCellVector {
    public private(set) var environments: [LiquidCell]
    public var count: Int { environments.count }
    public init(_ environment: LiquidCell, count: Int) {
        precondition(count >= 1)
        environments = [LiquidCell](repeating: environment, count: count)
    }
    public var actionSpace: Discrete { environments[0].actionSpace }
    public var observationSpace: DictSpace { environments[0].observationSpace }

    public mutating func reset(seed: UInt64?) throws -> [[String: [Float]]] {
        try (0..<count).map { i in try environments[i].reset(seed: seed.map { $0 &+ UInt64(i) }, options: [:]).0 }
    }

    public mutating func step(_ actions: [Int]) throws -> VectorStep<[String: [Float]]> {
        precondition(actions.count == count, "one action per environment")
        var latents: [Float] = [], noise: [Float] = [], ranges: [[Double]] = [], settings: [(Double, Double)] = []
        for i in 0..<count {
            guard environments[i].actionSpace.contains(actions[i]) else {
                throw EnvironmentError.actionOutsideSpace("environment \(i): \(actions[i]) is not in \(environments[i].actionSpace)")
            }
            guard environments[i].phase == .running else {
                throw environments[i].phase == .needsReset ? EnvironmentError.stepBeforeReset : EnvironmentError.stepAfterEpisodeEnd
            }
            let (d, f) = environments[i].setting(for: actions[i])
            settings.append((d, f))
            var r: [Double] = []
            for _ in 0..<environments[i].segmentsNeeded(frameRate: f) {
                latents += environments[i].advanceLatent(doseRate: d)
                r.append(environments[i].segmentRange())
            }
            ranges.append(r)
            // The stationary decoder's per-frame noise, from each environment's own generator in the single
            // environment's order (the authors' decoder needs none).
            for _ in 0..<environments[i].model.noiseCount(batch: r.count) { noise.append(Float(environments[i].rng.normal())) }
        }
        let decoded = environments[0].model.decode(z: latents, noise: noise.isEmpty ? nil : noise)
        let per = environments[0].spec.segmentFrames * 2
        var offset = 0
        var steps: [Step<[String: [Float]]>] = []
        for i in 0..<count {
            let k = ranges[i].count
            let slice = Array(decoded[(offset * per)..<((offset + k) * per)])
            offset += k
            var s = environments[i].finish(doseRate: settings[i].0, frameRate: settings[i].1, decoded: slice, ranges: ranges[i])
            if s.done { environments[i].phase = .ended }
            s.info["env_index"] = Double(i)
            steps.append(s)
        }
        return try VectorEnvironment<LiquidCell>.autoReset(steps, reset: { i in try environments[i].reset(seed: nil, options: [:]).0 })
    }
}
