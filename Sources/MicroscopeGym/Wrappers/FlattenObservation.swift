import Foundation
import LeonardoSim

/// Flattens a `DictSpace` observation into one vector, keys in sorted order, optionally only some keys
/// (e.g. `["features", "instrument"]` for agents that ignore the raw segment). NaN stays NaN.
public struct FlattenObservation<Base: Environment>: ObservationWrapper where Base.ObservationSpace == DictSpace {
    public var base: Base
    public let keys: [String]
    public let observationSpace: Box
    public init(_ base: Base, keys: [String]? = nil) throws {
        let available = base.observationSpace.keys
        let chosen = (keys ?? available).sorted()
        for k in chosen where !available.contains(k) {
            throw EnvironmentError.incompatibleSpaces(
                "no observation key '\(k)' (available: \(available.joined(separator: ", ")))")
        }
        self.base = base
        self.keys = chosen
        var low: [Float] = []
        var high: [Float] = []
        for k in chosen {
            low += base.observationSpace.spaces[k]!.low
            high += base.observationSpace.spaces[k]!.high
        }
        observationSpace = Box(shape: [low.count], low: low, high: high)
    }
    public func observation(_ o: [String: [Float]]) -> [Float] { keys.flatMap { o[$0]! } }
}
