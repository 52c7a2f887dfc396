import Foundation
import LeonardoSim

/// Truncates episodes after `maxSteps` steps (Gymnasium's `TimeLimit`).
public struct TimeLimit<Base: Environment>: Environment {
    public var base: Base
    public let maxSteps: Int
    public private(set) var elapsedSteps = 0
    public init(_ base: Base, maxSteps: Int) { precondition(maxSteps >= 1); self.base = base; self.maxSteps = maxSteps }
    public var observationSpace: Base.ObservationSpace { base.observationSpace }
    public var actionSpace: Base.ActionSpace { base.actionSpace }
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

/// Records each episode's return and length; they appear in the last step's info as `episode_return` and
/// `episode_length` (Gymnasium's `RecordEpisodeStatistics`), and in `completed`.
public struct EpisodeStatistics<Base: Environment>: Environment {
    public var base: Base
    public private(set) var episodeReturn = 0.0
    public private(set) var episodeLength = 0
    /// (return, length) of every finished episode, oldest first.
    public private(set) var completed: [(episodeReturn: Double, length: Int)] = []
    public init(_ base: Base) { self.base = base }
    public var observationSpace: Base.ObservationSpace { base.observationSpace }
    public var actionSpace: Base.ActionSpace { base.actionSpace }
    public mutating func reset(seed: UInt64?, options: [String: Double]) throws -> (Base.Observation, Info) {
        episodeReturn = 0; episodeLength = 0
        return try base.reset(seed: seed, options: options)
    }
    public mutating func step(_ action: Base.Action) throws -> Step<Base.Observation> {
        var s = try base.step(action)
        episodeReturn += s.reward; episodeLength += 1
        if s.done {
            s.info["episode_return"] = episodeReturn; s.info["episode_length"] = Double(episodeLength)
            completed.append((episodeReturn, episodeLength))
        }
        return s
    }
}

/// Flattens a `DictSpace` observation into one vector, keys in sorted order, optionally only some keys
/// (e.g. `["features", "instrument"]` for agents that ignore the raw segment). NaN stays NaN.
public struct FlattenObservation<Base: Environment>: Environment where Base.ObservationSpace == DictSpace {
    public var base: Base
    public let keys: [String]
    public let observationSpace: Box
    public init(_ base: Base, keys: [String]? = nil) throws {
        let available = base.observationSpace.keys
        let chosen = (keys ?? available).sorted()
        for k in chosen where !available.contains(k) {
            throw EnvironmentError.incompatibleSpaces("no observation key '\(k)' (available: \(available.joined(separator: ", ")))")
        }
        self.base = base; self.keys = chosen
        var low: [Float] = [], high: [Float] = []
        for k in chosen { low += base.observationSpace.spaces[k]!.low; high += base.observationSpace.spaces[k]!.high }
        observationSpace = Box(shape: [low.count], low: low, high: high)
    }
    public var actionSpace: Base.ActionSpace { base.actionSpace }
    func flatten(_ o: [String: [Float]]) -> [Float] { keys.flatMap { o[$0]! } }
    public mutating func reset(seed: UInt64?, options: [String: Double]) throws -> ([Float], Info) {
        let (o, info) = try base.reset(seed: seed, options: options)
        return (flatten(o), info)
    }
    public mutating func step(_ action: Base.Action) throws -> Step<[Float]> {
        try base.step(action).mapObservation(flatten)
    }
}

/// Running mean and variance of vector observations (Welford's algorithm; non-finite entries are skipped), and
/// standardisation by them. One implementation for the `NormalizeObservation` wrapper and the agents' inputs
/// (DQN, CEM), whose policy files store it as JSON (`count`, `mean`, `m2`).
public struct ObservationNormalizer: Codable, Equatable, Sendable {
    public var count = 0.0
    public var mean: [Double]
    public var m2: [Double]
    public init(dimension: Int) { mean = [Double](repeating: 0, count: dimension); m2 = mean }

    public mutating func update(_ x: [Float]) {
        count += 1
        for i in 0..<x.count where x[i].isFinite {
            let d = Double(x[i]) - mean[i]
            mean[i] += d / count
            m2[i] += d * (Double(x[i]) - mean[i])
        }
    }

    /// Unbiased variance of entry i (1 before two observations).
    @inline(__always)
    public func variance(_ i: Int) -> Double { count > 1 ? m2[i] / (count - 1) : 1 }

    /// Standardises with the agents' convention: (x − mean)/max(sd, 1e-6), clipped to ±10, non-finite → 0.
    public func apply(_ x: [Float], into out: UnsafeMutablePointer<Float>) {
        x.withUnsafeBufferPointer { apply($0.baseAddress!, into: out) }
    }

    /// As `apply(_:into:)` for `mean.count` values read from `x` (no allocation: used inside minibatch loops).
    public func apply(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        for i in 0..<mean.count {
            let v = x[i].isFinite ? (Double(x[i]) - mean[i]) / max(variance(i).squareRoot(), 1e-6) : 0
            out[i] = Float(max(-10, min(10, v)))
        }
    }
}

/// Normalises vector observations by running mean and variance (Welford; Gymnasium's `NormalizeObservation`),
/// then clips to ±`clip`. NaN entries become 0. Freeze the statistics with `updating = false` for evaluation.
public struct NormalizeObservation<Base: Environment>: Environment where Base.ObservationSpace == Box {
    public var base: Base
    public var updating = true
    public let clip: Float
    public private(set) var statistics: ObservationNormalizer
    public var count: Double { statistics.count }
    public var mean: [Double] { statistics.mean }
    public var m2: [Double] { statistics.m2 }
    public init(_ base: Base, clip: Float = 10) {
        self.base = base; self.clip = clip
        statistics = ObservationNormalizer(dimension: base.observationSpace.count)
    }
    public var observationSpace: Box { Box(shape: base.observationSpace.shape, low: -clip, high: clip) }
    public var actionSpace: Base.ActionSpace { base.actionSpace }
    mutating func normalize(_ x: [Float]) -> [Float] {
        if updating { statistics.update(x) }
        return (0..<x.count).map { i in
            guard x[i].isFinite else { return 0 }
            return max(-clip, min(clip, Float((Double(x[i]) - statistics.mean[i]) / (statistics.variance(i) + 1e-8).squareRoot())))
        }
    }
    public mutating func reset(seed: UInt64?, options: [String: Double]) throws -> ([Float], Info) {
        let (o, info) = try base.reset(seed: seed, options: options)
        return (normalize(o), info)
    }
    public mutating func step(_ action: Base.Action) throws -> Step<[Float]> {
        try base.step(action).mapObservation { normalize($0) }
    }
}

/// Presents a discrete-action environment with a continuous action: a `Box` in [0, 1]^d, each coordinate
/// picking one axis of a grid (e.g. dose × frame rate) by rounding to the nearest of `gridShape[i]` levels.
/// Actions outside [0, 1]^d throw (no clamping).
public struct ContinuousActions<Base: Environment>: Environment where Base.ActionSpace == Discrete {
    public var base: Base
    public let gridShape: [Int]
    public let actionSpace: Box
    public init(_ base: Base, gridShape: [Int]) throws {
        guard gridShape.reduce(1, *) == base.actionSpace.n else {
            throw EnvironmentError.incompatibleSpaces("grid \(gridShape) does not cover Discrete(\(base.actionSpace.n))")
        }
        self.base = base; self.gridShape = gridShape
        actionSpace = Box(shape: [gridShape.count], low: 0, high: 1)
    }
    public var observationSpace: Base.ObservationSpace { base.observationSpace }
    /// The discrete action nearest to `a`.
    public func discrete(_ a: [Float]) -> Int {
        var index = 0
        for (i, n) in gridShape.enumerated() { index = index * n + Int((a[i] * Float(n - 1)).rounded()) }
        return index
    }
    public mutating func reset(seed: UInt64?, options: [String: Double]) throws -> (Base.Observation, Info) {
        try base.reset(seed: seed, options: options)
    }
    public mutating func step(_ action: [Float]) throws -> Step<Base.Observation> {
        guard actionSpace.contains(action) else { throw EnvironmentError.actionOutsideSpace("\(action) is not in \(actionSpace)") }
        return try base.step(discrete(action))
    }
}

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

/// The liquid cell with the continuous action (log₁₀ dose rate, log₁₀ frame rate) inside the spec's ranges.
public struct ContinuousLiquidCell: Environment {
    public var base: LiquidCell
    public let actionSpace: Box
    public init(_ base: LiquidCell) {
        self.base = base
        let s = base.spec
        actionSpace = Box(shape: [2], low: [Float(log10(s.doseRateRange[0])), Float(log10(s.frameRateRange[0]))],
                          high: [Float(log10(s.doseRateRange[1])), Float(log10(s.frameRateRange[1]))])
    }
    public var observationSpace: DictSpace { base.observationSpace }
    public mutating func reset(seed: UInt64?, options: [String: Double]) throws -> ([String: [Float]], Info) {
        try base.reset(seed: seed, options: options)
    }
    public mutating func step(_ action: [Float]) throws -> Step<[String: [Float]]> {
        guard actionSpace.contains(action) else { throw EnvironmentError.actionOutsideSpace("\(action) is not in \(actionSpace)") }
        let d = min(base.spec.doseRateRange[1], max(base.spec.doseRateRange[0], pow(10, Double(action[0]))))
        let f = min(base.spec.frameRateRange[1], max(base.spec.frameRateRange[0], pow(10, Double(action[1]))))
        return try base.step(doseRate: d, frameRate: f)   // the min/max only absorbs float32 rounding of the bounds
    }
}
