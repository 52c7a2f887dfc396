import Foundation
import LeonardoSim

/// Mean and 95 % confidence half-width (normal approximation, 1.96·s/√n) of a sample.
public struct Estimate: Codable, Equatable, Sendable {
    public var mean: Double
    public var ci95: Double
    public var std: Double
    public var count: Int
    public init(_ xs: [Double]) {
        count = xs.count
        let m = xs.isEmpty ? Double.nan : xs.reduce(0, +) / Double(xs.count)
        mean = m
        let v = xs.count > 1 ? xs.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(xs.count - 1) : 0
        std = v.squareRoot()
        ci95 = xs.count > 1 ? 1.96 * std / Double(xs.count).squareRoot() : .nan
    }
}
