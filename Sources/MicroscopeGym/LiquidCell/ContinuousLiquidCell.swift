import Foundation
import LeonardoSim

/// The liquid cell with the continuous action (log₁₀ dose rate, log₁₀ frame rate) inside the spec's ranges.
public struct ContinuousLiquidCell: Wrapper {
    public var base: LiquidCell
    public let actionSpace: Box
    public init(_ base: LiquidCell) {
        self.base = base
        let s = base.spec
        actionSpace = Box(
            shape: [2], low: [Float(log10(s.doseRateRange[0])), Float(log10(s.frameRateRange[0]))],
            high: [Float(log10(s.doseRateRange[1])), Float(log10(s.frameRateRange[1]))])
    }
    public mutating func step(_ action: [Float]) throws -> Step<[String: [Float]]> {
        guard actionSpace.contains(action) else {
            throw EnvironmentError.actionOutsideSpace("\(action) is not in \(actionSpace)")
        }
        let d = min(base.spec.doseRateRange[1], max(base.spec.doseRateRange[0], pow(10, Double(action[0]))))
        let f = min(base.spec.frameRateRange[1], max(base.spec.frameRateRange[0], pow(10, Double(action[1]))))
        return try base.step(doseRate: d, frameRate: f)  // the min/max only absorbs float32 rounding of the bounds
    }
}
