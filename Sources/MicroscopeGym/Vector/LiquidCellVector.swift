import Foundation
import LeonardoSim

/// N liquid cells whose decoder calls are batched: every step decodes the latents of all N environments in
/// one `Leonardo.decode` call (one set of large GEMMs instead of N small ones). Same results as stepping the
/// copies one by one (the decoder is deterministic per trajectory up to float rounding of the batch size).
public struct LiquidCellVector {
    public internal(set) var environments: [LiquidCell]
    public var count: Int { environments.count }
    public init(_ environment: LiquidCell, count: Int) {
        precondition(count >= 1)
        environments = [LiquidCell](repeating: environment, count: count)
    }
    public var actionSpace: Discrete { environments[0].actionSpace }
    public var observationSpace: DictSpace { environments[0].observationSpace }

    public mutating func reset(seed: UInt64?) throws -> [[String: [Float]]] { try resetWithInfos(seed: seed).0 }

    /// `reset(seed:)` with each environment's reset info. Copy i is seeded with seed + i.
    public mutating func resetWithInfos(seed: UInt64?) throws -> ([[String: [Float]]], [Info]) {
        var observations: [[String: [Float]]] = []
        var infos: [Info] = []
        for i in 0..<count {
            let (o, info) = try environments[i].reset(seed: seed.map { $0 &+ UInt64(i) }, options: [:])
            observations.append(o)
            infos.append(info)
        }
        return (observations, infos)
    }

    /// Resets copy `i` alone (a caller that seeds each episode itself, e.g. a training session's episode seeds).
    public mutating func reset(environment i: Int, seed: UInt64?) throws -> ([String: [Float]], Info) {
        try environments[i].reset(seed: seed, options: [:])
    }

    /// The state of copy `i` (`LiquidCellState`), and its restoration: a checkpoint of a vector rollout.
    public func state(of i: Int) -> LiquidCellState { environments[i].state }
    public mutating func restore(_ state: LiquidCellState, into i: Int) throws { try environments[i].restore(state) }

    public mutating func step(_ actions: [Int]) throws -> VectorStep<[String: [Float]]> {
        precondition(actions.count == count, "one action per environment")
        var settings: [(doseRate: Double, frameRate: Double)] = []
        for i in 0..<count {
            guard environments[i].actionSpace.contains(actions[i]) else {
                throw EnvironmentError.actionOutsideSpace(
                    "environment \(i): \(actions[i]) is not in \(environments[i].actionSpace)")
            }
            settings.append(environments[i].setting(for: actions[i]))
        }
        let steps = try stepWithoutReset(settings: settings)
        return try VectorEnvironment<LiquidCell>.autoReset(
            steps, reset: { i in try environments[i].reset(seed: nil, options: [:]) })
    }

    /// One step of every copy at its own dose rate and frame rate (inside the spec's continuous ranges, as
    /// `LiquidCell.step(doseRate:frameRate:)`), decoded in one batch, without resetting the copies whose episode
    /// ended: the caller resets them (`reset(environment:seed:)`).
    public mutating func stepWithoutReset(settings: [(doseRate: Double, frameRate: Double)]) throws
        -> [Step<[String: [Float]]>]
    {
        precondition(settings.count == count, "one setting per environment")
        var latents: [Float] = []
        var noise: [Float] = []
        var ranges: [[Double]] = []
        for i in 0..<count {
            guard environments[i].phase == .running else {
                throw environments[i].phase == .needsReset
                    ? EnvironmentError.stepBeforeReset : EnvironmentError.stepAfterEpisodeEnd
            }
            let (d, f) = settings[i]
            let spec = environments[i].spec
            guard d.isFinite, d >= spec.doseRateRange[0], d <= spec.doseRateRange[1] else {
                throw EnvironmentError.actionOutsideSpace(
                    "environment \(i): dose rate \(d) e⁻/Å²/s outside \(spec.doseRateRange)")
            }
            guard f.isFinite, f >= spec.frameRateRange[0], f <= spec.frameRateRange[1] else {
                throw EnvironmentError.actionOutsideSpace(
                    "environment \(i): frame rate \(f) frames/s outside \(spec.frameRateRange)")
            }
        }
        // Every setting is valid: only now does any copy's state change.
        for i in 0..<count {
            let (d, f) = settings[i]
            var r: [Double] = []
            for _ in 0..<environments[i].segmentsNeeded(frameRate: f) {
                latents += environments[i].advanceLatent(doseRate: d)
                r.append(environments[i].segmentRange())
            }
            ranges.append(r)
            // The stationary decoder's per-frame noise, from each environment's own generator in the single
            // environment's order (the authors' decoder needs none).
            for _ in 0..<environments[i].model.noiseCount(batch: r.count) {
                noise.append(Float(environments[i].rng.normal()))
            }
        }
        let decoded = environments[0].model.decode(z: latents, noise: noise.isEmpty ? nil : noise)
        // Everything after decoding (stitching, sampling, noise, features, reward) touches only each copy's own
        // state and generator, so the copies finish in parallel with the same results as one after another.
        let per = environments[0].spec.segmentFrames * 2
        var offsets = [Int](repeating: 0, count: count + 1)
        for i in 0..<count { offsets[i + 1] = offsets[i] + ranges[i].count * per }
        let n = count
        var finished = [Step<[String: [Float]]>?](repeating: nil, count: n)
        environments.withUnsafeMutableBufferPointer { envs in
            finished.withUnsafeMutableBufferPointer { out in
                parallelFor(n) { i, _ in
                    let slice = Array(decoded[offsets[i]..<offsets[i + 1]])
                    var s = envs[i].finish(
                        doseRate: settings[i].0, frameRate: settings[i].1, decoded: slice, ranges: ranges[i])
                    if s.done { envs[i].phase = .ended }
                    s.info["env_index"] = Double(i)
                    out[i] = s
                }
            }
        }
        return finished.map { $0! }
    }
}
