import Foundation
import LeonardoSim

/// Mean and 95 % confidence half-width (normal approximation, 1.96·s/√n) of a sample. A statistic a sample is too
/// small for (the interval of one value, the mean of none) is NaN in Swift and `null` in JSON, never a number.
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

    /// The 95 % interval, mean ∓ ci95 (NaN bounds for a sample too small for one).
    public var interval95: (low: Double, high: Double) { (mean - ci95, mean + ci95) }

    private enum CodingKeys: String, CodingKey { case mean, ci95, std, count }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        mean = try c.decodeIfPresent(Double.self, forKey: .mean) ?? .nan
        ci95 = try c.decodeIfPresent(Double.self, forKey: .ci95) ?? .nan
        std = try c.decodeIfPresent(Double.self, forKey: .std) ?? .nan
        count = try c.decode(Int.self, forKey: .count)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        for (key, value) in [(CodingKeys.mean, mean), (.ci95, ci95), (.std, std)] {
            if value.isFinite { try c.encode(value, forKey: key) } else { try c.encodeNil(forKey: key) }
        }
        try c.encode(count, forKey: .count)
    }
}
