import Foundation

/// Round axis ticks: "nice numbers" (1, 2 or 5 times a power of ten) spanning a data range, after Heckbert,
/// "Nice numbers for graph labels" (Graphics Gems, 1990). The plots of `gym-runner` and `SweepTable.heatmapSVG` take
/// their axes and colour scales from it, so every tick label is a round number.
public struct NiceTicks: Equatable, Sendable {
    /// The tick values, lowest first; the first is ≤ the data's low end and the last ≥ its high end.
    public let values: [Double]
    /// The distance between ticks.
    public let step: Double
    /// Decimals that print every tick exactly (0 for steps ≥ 1).
    public let decimals: Int

    /// About `count` ticks (at least 2) covering `low … high`; an empty range is widened to one unit around it.
    public init(low: Double, high: Double, count: Int = 5) {
        var (lo, hi) = (min(low, high), max(low, high))
        if !lo.isFinite || !hi.isFinite {
            (lo, hi) = (0, 1)
        }
        if hi - lo < 1e-12 * max(1, abs(lo)) {
            lo -= 0.5
            hi += 0.5
        }
        let range = NiceTicks.nice(hi - lo, round: false)
        let step = NiceTicks.nice(range / Double(max(count - 1, 1)), round: true)
        let first = (lo / step).rounded(.down)
        let last = (hi / step).rounded(.up)
        values = stride(from: first, through: last, by: 1).map { $0 * step }
        self.step = step
        decimals = max(0, Int(-(log10(step)).rounded(.down)))
    }

    /// The tick range.
    public var low: Double { values.first ?? 0 }
    public var high: Double { values.last ?? 1 }

    /// `value` printed with `decimals` decimals ("−0" printed as "0").
    public func label(_ value: Double) -> String {
        let s = String(format: "%.\(decimals)f", value)
        return Double(s) == 0 ? String(format: "%.\(decimals)f", 0.0) : s
    }

    /// A nice number near `x`: rounded to the nearest of 1, 2, 5, 10 × 10ᵏ, or the smallest of them ≥ `x`.
    public static func nice(_ x: Double, round: Bool) -> Double {
        guard x > 0, x.isFinite else { return 1 }
        let exponent = (log10(x)).rounded(.down)
        let fraction = x / pow(10, exponent)
        let niceFraction: Double
        if round {
            niceFraction = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10
        } else {
            niceFraction = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10
        }
        return niceFraction * pow(10, exponent)
    }
}
