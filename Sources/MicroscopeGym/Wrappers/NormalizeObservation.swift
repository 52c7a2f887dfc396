import Foundation
import LeonardoSim

/// Running mean and variance of vector observations (Welford's algorithm; non-finite entries are skipped), and
/// standardisation by them. One implementation for the `NormalizeObservation` wrapper and the agents' inputs
/// (DQN, CEM), whose policy files store it as JSON (`count`, `mean`, `m2`).
public struct ObservationNormalizer: Codable, Equatable, Sendable {
    public var count = 0.0
    public var mean: [Double]
    public var m2: [Double]
    public init(dimension: Int) {
        mean = [Double](repeating: 0, count: dimension)
        m2 = mean
    }

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

    /// Standardises: (x − mean)/max(sd, 1e-6), clipped to ±`clip`, non-finite → 0 (the wrapper's and the agents' one rule).
    public func apply(_ x: [Float], into out: UnsafeMutablePointer<Float>, clip: Float = 10) {
        x.withUnsafeBufferPointer { apply($0.baseAddress!, into: out, clip: clip) }
    }

    /// As `apply(_:into:clip:)` for `mean.count` values read from `x` (no allocation: used inside minibatch loops).
    public func apply(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, clip: Float = 10) {
        let c = Double(clip)
        for i in 0..<mean.count {
            let v = x[i].isFinite ? (Double(x[i]) - mean[i]) / max(variance(i).squareRoot(), 1e-6) : 0
            out[i] = Float(max(-c, min(c, v)))
        }
    }
}

/// Normalises vector observations by running mean and variance (Welford; Gymnasium's `NormalizeObservation`),
/// then clips to ±`clip`. NaN entries become 0. Freeze the statistics with `updating = false` for evaluation.
public struct NormalizeObservation<Base: Environment>: ObservationWrapper where Base.ObservationSpace == Box {
    public var base: Base
    public var updating = true
    public let clip: Float
    public private(set) var statistics: ObservationNormalizer
    public var count: Double { statistics.count }
    public var mean: [Double] { statistics.mean }
    public var m2: [Double] { statistics.m2 }
    public init(_ base: Base, clip: Float = 10) {
        self.base = base
        self.clip = clip
        statistics = ObservationNormalizer(dimension: base.observationSpace.count)
    }
    public var observationSpace: Box { Box(shape: base.observationSpace.shape, low: -clip, high: clip) }
    public mutating func observation(_ x: [Float]) -> [Float] {
        if updating { statistics.update(x) }
        var out = [Float](repeating: 0, count: x.count)
        out.withUnsafeMutableBufferPointer { statistics.apply(x, into: $0.baseAddress!, clip: clip) }
        return out
    }
}
