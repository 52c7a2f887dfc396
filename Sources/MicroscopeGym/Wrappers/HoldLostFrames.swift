import Foundation
import LeonardoSim

/// Replaces the NaN positions of lost frames in a `LiquidCell` observation by the tracker's held estimate and adds
/// the detection mask, so that every observation is finite (Gymnasium's `Box.contains` and most networks reject NaN).
///
/// `segment` (T×2, nm): a lost frame takes the last tracked position before it, or the first tracked one when it
/// precedes every detection (the rule `LiquidCell.features` uses); a segment with no detection is all zeros.
/// `tracked` (T, new key): 1 where the particle was detected, 0 where it was lost. `instrument` and `features` are
/// unchanged. Every value is then clipped to ±`bound` (1e9: a metre in nm, far beyond any physical run) and the
/// space's infinite bounds become ±`bound`, so the space is bounded as Gymnasium's checker asks (non-finite values,
/// which no LiquidCell key other than `segment` produces, would become 0). The Python package (`python/`) and the C library (`MicroscopeGymC`) expose environments through it.
public struct HoldLostFrames<Base: Environment>: ObservationWrapper
where Base.ObservationSpace == DictSpace, Base.Observation == [String: [Float]] {
    public var base: Base
    public let observationSpace: DictSpace
    /// Frames per segment (the `segment` box's first dimension).
    public let frames: Int

    /// Wraps `base`, whose observation must have a `segment` box of shape [T, 2].
    public init(_ base: Base) throws {
        guard let segment = base.observationSpace.spaces["segment"], segment.shape.count == 2, segment.shape[1] == 2
        else {
            throw EnvironmentError.incompatibleSpaces("HoldLostFrames needs a 'segment' observation of shape [T, 2]")
        }
        guard base.observationSpace.spaces["tracked"] == nil else {
            throw EnvironmentError.incompatibleSpaces("the observation already has a 'tracked' key")
        }
        self.base = base
        frames = segment.shape[0]
        observationSpace = HoldLostFrames.space(base.observationSpace, frames: frames)
    }

    /// Bound of every observation entry (nm for `segment`).
    public static var bound: Float { 1e9 }

    /// The wrapped observation space: infinite bounds become ±`bound`, `tracked` in [0, 1].
    public static func space(_ base: DictSpace, frames: Int) -> DictSpace {
        var spaces = base.spaces.mapValues { box in
            Box(shape: box.shape, low: box.low.map { max($0, -bound) }, high: box.high.map { min($0, bound) })
        }
        spaces["tracked"] = Box(shape: [frames], low: 0, high: 1)
        return DictSpace(spaces)
    }

    public func observation(_ o: [String: [Float]]) -> [String: [Float]] { HoldLostFrames.transform(o, frames: frames) }

    /// The transformation itself (shared with `LiquidCellVector`'s callers, which step many cells at once).
    public static func transform(_ o: [String: [Float]], frames T: Int) -> [String: [Float]] {
        var out = o
        guard var segment = o["segment"], segment.count == 2 * T else { return o }
        var tracked = [Float](repeating: 0, count: T)
        var held: (Float, Float)? = nil
        for i in 0..<T where !segment[2 * i].isNaN && !segment[2 * i + 1].isNaN {
            held = (segment[2 * i], segment[2 * i + 1])
            break
        }
        for i in 0..<T {
            if segment[2 * i].isNaN || segment[2 * i + 1].isNaN {
                segment[2 * i] = held?.0 ?? 0
                segment[2 * i + 1] = held?.1 ?? 0
            } else {
                tracked[i] = 1
                held = (segment[2 * i], segment[2 * i + 1])
            }
        }
        out["segment"] = segment
        for (key, values) in out {
            out[key] = values.map { $0.isFinite ? min(bound, max(-bound, $0)) : 0 }
        }
        out["tracked"] = tracked
        return out
    }
}
