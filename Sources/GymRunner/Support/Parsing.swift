import ArgumentParser
import Foundation
import LeonardoSim

/// Parses "a:b" into a positive closed range.
/// Dose rates a flag may name (e⁻/Å²/s): the span of liquid-phase TEM, from low-dose imaging to damage studies.
let doseRateBounds: ClosedRange<Double> = 1e-3...1e5

func parseRange(_ s: String, flag: String, within bounds: ClosedRange<Double> = doseRateBounds) throws
    -> ClosedRange<Double>
{
    let parts = s.split(separator: ":", omittingEmptySubsequences: false).map { Double($0) }
    guard parts.count == 2, let a = parts[0], let b = parts[1], a.isFinite, b.isFinite, a > 0, b >= a,
        bounds.contains(a), bounds.contains(b)
    else {
        throw ValidationError(
            "\(flag) must be LOW:HIGH with \(bounds.lowerBound) ≤ LOW ≤ HIGH ≤ \(bounds.upperBound), got '\(s)'")
    }
    return a...b
}

/// Parses "a:b:n" into n log-spaced values from a to b (n = 1 gives a).
/// Values are checked against the environment's range by the sweep; COUNT is at most 64 (as a spec's grids).
func parseGrid(_ s: String, flag: String) throws -> [Double] {
    let p = s.split(separator: ":").map { String($0) }
    guard p.count == 3, let a = Double(p[0]), let b = Double(p[1]), let n = Int(p[2]), a.isFinite, b.isFinite, a > 0,
        b >= a, (1...64).contains(n), n == 1 || b > a
    else {
        throw ValidationError(
            "\(flag) must be LOW:HIGH:COUNT with 0 < LOW ≤ HIGH, COUNT in 1 … 64 and LOW < HIGH when COUNT > 1, got '\(s)'"
        )
    }
    if n == 1 { return [a] }
    return (0..<n).map { i in a * pow(b / a, Double(i) / Double(n - 1)) }
}
