import Foundation
import LeonardoSim

/// Presents a discrete-action environment with a continuous action: a `Box` in [0, 1]^d, each coordinate
/// picking one axis of a grid (e.g. dose × frame rate) by rounding to the nearest of `gridShape[i]` levels.
/// Actions outside [0, 1]^d throw (no clamping).
public struct ContinuousActions<Base: Environment>: ActionWrapper where Base.ActionSpace == Discrete {
    public var base: Base
    public let gridShape: [Int]
    public let actionSpace: Box
    public init(_ base: Base, gridShape: [Int]) throws {
        guard gridShape.reduce(1, *) == base.actionSpace.n else {
            throw EnvironmentError.incompatibleSpaces(
                "grid \(gridShape) does not cover Discrete(\(base.actionSpace.n))")
        }
        self.base = base
        self.gridShape = gridShape
        actionSpace = Box(shape: [gridShape.count], low: 0, high: 1)
    }
    /// The discrete action nearest to `a`.
    public func discrete(_ a: [Float]) -> Int {
        var index = 0
        for (i, n) in gridShape.enumerated() { index = index * n + Int((a[i] * Float(n - 1)).rounded()) }
        return index
    }
    public func action(_ action: [Float]) throws -> Int {
        guard actionSpace.contains(action) else {
            throw EnvironmentError.actionOutsideSpace("\(action) is not in \(actionSpace)")
        }
        return discrete(action)
    }
}
