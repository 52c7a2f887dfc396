import Foundation
import LeonardoSim

/// The last `length` observations of a vector environment side by side, oldest first (Gymnasium's
/// `FrameStackObservation` with `padding_type="reset"`: after a reset every slot holds the reset observation, so the
/// stack always lies in the space). The simple memory baseline: a memoryless agent that reads it sees `length − 1`
/// steps back.
public struct ObservationHistory<Base: Environment>: ObservationWrapper where Base.ObservationSpace == Box {
    public var base: Base
    public let length: Int
    public let observationSpace: Box
    /// The stack, oldest first (`length` × the base's observation size).
    public private(set) var history: [Float] = []

    /// Throws for `length` < 1.
    public init(_ base: Base, length: Int) throws {
        guard length >= 1 else {
            throw EnvironmentError.incompatibleSpaces("an observation history needs length ≥ 1, got \(length)")
        }
        self.base = base
        self.length = length
        let b = base.observationSpace
        observationSpace = Box(
            shape: [length * b.low.count], low: Array([[Float]](repeating: b.low, count: length).joined()),
            high: Array([[Float]](repeating: b.high, count: length).joined()))
    }

    public mutating func reset(seed: UInt64?, options: [String: Double]) throws -> ([Float], Info) {
        let (o, info) = try base.reset(seed: seed, options: options)
        history = Array([[Float]](repeating: o, count: length).joined())
        return (history, info)
    }

    public mutating func observation(_ o: [Float]) -> [Float] {
        history.removeFirst(o.count)
        history += o
        return history
    }
}
