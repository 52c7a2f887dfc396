import Foundation

/// How frames go missing from a recording, for validating completions against the frames that were in fact recorded:
/// lost at random (detection failures), lost in bursts (the tracker losing a particle for a while), or never taken
/// (a lower frame rate than the model's). `mask` draws which frames stay.
public enum FrameLoss: Equatable, Sendable, CustomStringConvertible {
    /// Each frame lost independently; exactly round(fraction·T) frames lost.
    case random(fraction: Double)
    /// Bursts of consecutive lost frames, lengths geometric with mean `meanLength`, until round(fraction·T) are lost.
    case burst(fraction: Double, meanLength: Double)
    /// Only every k-th frame recorded (frames 0, k, 2k, …): the frame rate divided by k.
    case subsample(every: Int)

    /// Parses `random:0.3`, `burst:0.3` (mean burst 8 frames) or `burst:0.3:5`, `every:4`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: ":").map(String.init)
        func number(_ i: Int) -> Double? { parts.count > i ? Double(parts[i]) : nil }
        switch parts.first {
        case "random" where parts.count == 2:
            guard let f = number(1), f > 0, f < 1 else { break }
            self = .random(fraction: f)
            return
        case "burst" where parts.count == 2 || parts.count == 3:
            guard let f = number(1), f > 0, f < 1 else { break }
            let mean = parts.count == 3 ? number(2) : 8
            guard let mean, mean >= 1 else { break }
            self = .burst(fraction: f, meanLength: mean)
            return
        case "every" where parts.count == 2:
            guard let k = Int(parts[1]), k >= 2 else { break }
            self = .subsample(every: k)
            return
        default: break
        }
        throw LeonardoError.invalidArgument(
            "frame loss '\(text)' is not one of random:F, burst:F[:MEAN], every:K (0 < F < 1, MEAN ≥ 1, K ≥ 2)")
    }

    public var description: String {
        switch self {
        case .random(let f): String(format: "random %.0f %% lost", f * 100)
        case .burst(let f, let m): String(format: "bursts %.0f %% lost (mean %g)", f * 100, m)
        case .subsample(let k): "1 frame in \(k) recorded"
        }
    }

    /// Which of T frames stay recorded.
    public func mask(length T: Int, rng: inout Xoshiro256StarStar) -> [Bool] {
        var observed = [Bool](repeating: true, count: T)
        switch self {
        case .random(let f):
            var order = Array(0..<T)
            rng.shuffle(&order)
            for t in order.prefix(Int((f * Double(T)).rounded())) { observed[t] = false }
        case .burst(let f, let meanLength):
            let target = Int((f * Double(T)).rounded())
            var lost = 0
            var guardCount = 0
            while lost < target && guardCount < 100 * T {
                guardCount += 1
                // Geometric length ≥ 1 with the given mean, by inversion.
                let p = 1 / meanLength
                let length = p >= 1 ? 1 : 1 + Int(log(rng.uniformPositive()) / log(1 - p))
                let start = rng.uniformInt(T)
                for t in start..<min(T, start + length) where observed[t] && lost < target {
                    observed[t] = false
                    lost += 1
                }
            }
        case .subsample(let k):
            for t in 0..<T { observed[t] = t % k == 0 }
        }
        return observed
    }
}

extension FrameLoss {
    /// `positions` (T×2) with every frame that `observed` marks false set to NaN in x and y: a recording with lost frames.
    public static func hide(_ positions: [Double], keeping observed: [Bool]) -> [Double] {
        var out = positions
        for t in observed.indices where !observed[t] {
            out[2 * t] = .nan
            out[2 * t + 1] = .nan
        }
        return out
    }
}

/// Figures of a completion against the true recording, over its hidden frames.
public enum FillMetrics {
    /// Root-mean-square error over the hidden frames' coordinates (x and y each count), and their number.
    public static func squaredError(_ estimate: [Double], truth: [Double], observed: [Bool]) -> (
        sum: Double, count: Int
    ) {
        var s = 0.0
        var n = 0
        for t in observed.indices where !observed[t] {
            for a in 0..<2 {
                let d = estimate[2 * t + a] - truth[2 * t + a]
                s += d * d
                n += 1
            }
        }
        return (s, n)
    }

    /// How many hidden coordinates of `truth` lie inside [lower, upper], and how many there are.
    public static func covered(lower: [Double], upper: [Double], truth: [Double], observed: [Bool]) -> (
        inside: Int, count: Int
    ) {
        var inside = 0
        var n = 0
        for t in observed.indices where !observed[t] {
            for a in 0..<2 {
                n += 1
                if truth[2 * t + a] >= lower[2 * t + a] && truth[2 * t + a] <= upper[2 * t + a] { inside += 1 }
            }
        }
        return (inside, n)
    }

    /// The MSD exponent (lags 1–10, time-averaged) and the normalised velocity autocorrelation at lag 1 of a T×2
    /// trajectory.
    public static func motion(_ r: [Double]) -> (msdExponent: Double, vacf1: Double) {
        let T = r.count / 2
        let f = r.map(Float.init)
        let msd = f.withUnsafeBufferPointer { MSD.timeAveraged($0.baseAddress!, length: T, maxLag: min(10, T - 1)) }
        var c0 = 0.0
        var c1 = 0.0
        for t in 0..<(T - 1) {
            let vx = r[2 * (t + 1)] - r[2 * t]
            let vy = r[2 * (t + 1) + 1] - r[2 * t + 1]
            c0 += vx * vx + vy * vy
            if t + 2 < T {
                let wx = r[2 * (t + 2)] - r[2 * (t + 1)]
                let wy = r[2 * (t + 2) + 1] - r[2 * (t + 1) + 1]
                c1 += vx * wx + vy * wy
            }
        }
        let vacf = c0 > 0 ? (c1 / Double(T - 2)) / (c0 / Double(T - 1)) : 0
        return (MSD.exponent(msd), vacf)
    }
}
