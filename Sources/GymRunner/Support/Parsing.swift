import ArgumentParser
import Foundation
import LeonardoSim

/// Parses "a:b" into a positive closed range.
func parseRange(_ s: String, flag: String) throws -> ClosedRange<Double> {
    let parts = s.split(separator: ":", omittingEmptySubsequences: false).map { Double($0) }
    guard parts.count == 2, let a = parts[0], let b = parts[1], a > 0, b >= a, b.isFinite else {
        throw ValidationError("\(flag) must be LOW:HIGH with 0 < LOW ≤ HIGH, got '\(s)'")
    }
    return a...b
}

/// Parses "a:b:n" into n log-spaced values from a to b (n = 1 gives a).
func parseGrid(_ s: String, flag: String) throws -> [Double] {
    let p = s.split(separator: ":").map { String($0) }
    guard p.count == 3, let a = Double(p[0]), let b = Double(p[1]), let n = Int(p[2]), a > 0, b >= a, n >= 1 else {
        throw ValidationError("\(flag) must be LOW:HIGH:COUNT with 0 < LOW ≤ HIGH and COUNT ≥ 1, got '\(s)'")
    }
    if n == 1 { return [a] }
    return (0..<n).map { i in a * pow(b / a, Double(i) / Double(n - 1)) }
}
