import Foundation
import LeonardoSim

/// A set of valid observations or actions, as a value (Gymnasium's `spaces`).
public protocol Space: Sendable, CustomStringConvertible {
    associatedtype Element
    /// Whether `x` is a member of the space (right shape, inside the bounds, finite where required).
    func contains(_ x: Element) -> Bool
    /// A uniformly random member (bounded boxes) drawn from `rng`.
    func sample(using rng: inout Xoshiro256StarStar) -> Element
}

/// A box of float vectors: `shape` (row-major, flattened storage) with element-wise bounds `low` ≤ x ≤ `high`.
/// Infinite bounds are allowed (unbounded observations); `sample` then draws standard normals there.
public struct Box: Space, Equatable {
    public let shape: [Int]
    public let low: [Float]
    public let high: [Float]
    public var count: Int { shape.reduce(1, *) }

    /// A box with per-element bounds. Precondition: bounds have `shape`'s element count and low ≤ high.
    public init(shape: [Int], low: [Float], high: [Float]) {
        let n = shape.reduce(1, *)
        precondition(low.count == n && high.count == n, "Box bounds must have \(n) elements")
        precondition(zip(low, high).allSatisfy { $0 <= $1 }, "Box needs low ≤ high")
        self.shape = shape
        self.low = low
        self.high = high
    }

    /// A box with the same bounds for every element.
    public init(shape: [Int], low: Float, high: Float) {
        let n = shape.reduce(1, *)
        self.init(shape: shape, low: [Float](repeating: low, count: n), high: [Float](repeating: high, count: n))
    }

    public func contains(_ x: [Float]) -> Bool {
        guard x.count == count else { return false }
        for i in 0..<x.count {
            // NaN is allowed only where the box is unbounded on both sides (e.g. a lost particle's position).
            if x[i].isNaN { if low[i] == -.infinity && high[i] == .infinity { continue } else { return false } }
            if x[i] < low[i] || x[i] > high[i] { return false }
        }
        return true
    }

    public func sample(using rng: inout Xoshiro256StarStar) -> [Float] {
        (0..<count).map { i in
            let lo = low[i]
            let hi = high[i]
            switch (lo.isFinite, hi.isFinite) {
            case (true, true): return min(hi, lo + (hi - lo) * Float(rng.uniform()))
            case (true, false): return lo + Float(-Foundation.log(rng.uniformPositive()))
            case (false, true): return hi - Float(-Foundation.log(rng.uniformPositive()))
            case (false, false): return Float(rng.normal())
            }
        }
    }

    public var description: String { "Box(shape: \(shape), low: \(low.min() ?? 0)…, high: \(high.max() ?? 0)…)" }
}

/// The integers 0 ..< n.
public struct Discrete: Space, Equatable {
    public let n: Int
    public init(_ n: Int) {
        precondition(n >= 1, "Discrete needs n ≥ 1")
        self.n = n
    }
    public func contains(_ x: Int) -> Bool { x >= 0 && x < n }
    public func sample(using rng: inout Xoshiro256StarStar) -> Int { rng.uniformInt(n) }
    public var description: String { "Discrete(\(n))" }
}

/// Vectors of integers with x[i] in 0 ..< nvec[i].
public struct MultiDiscrete: Space, Equatable {
    public let nvec: [Int]
    public init(_ nvec: [Int]) {
        precondition(nvec.allSatisfy { $0 >= 1 }, "MultiDiscrete needs every n ≥ 1")
        self.nvec = nvec
    }
    public func contains(_ x: [Int]) -> Bool { x.count == nvec.count && zip(x, nvec).allSatisfy { $0 >= 0 && $0 < $1 } }
    public func sample(using rng: inout Xoshiro256StarStar) -> [Int] { nvec.map { rng.uniformInt($0) } }
    public var description: String { "MultiDiscrete(\(nvec))" }
}

/// A dictionary of named boxes; elements are `[String: [Float]]` with exactly these keys.
public struct DictSpace: Space, Equatable {
    public let spaces: [String: Box]
    /// Keys in sorted order: the order `FlattenObservation` concatenates them in.
    public var keys: [String] { spaces.keys.sorted() }
    public init(_ spaces: [String: Box]) { self.spaces = spaces }
    public func contains(_ x: [String: [Float]]) -> Bool {
        x.count == spaces.count && spaces.allSatisfy { key, box in x[key].map { box.contains($0) } ?? false }
    }
    public func sample(using rng: inout Xoshiro256StarStar) -> [String: [Float]] {
        var out: [String: [Float]] = [:]
        for key in keys { out[key] = spaces[key]!.sample(using: &rng) }
        return out
    }
    public var description: String { "Dict(" + keys.map { "\($0): \(spaces[$0]!)" }.joined(separator: ", ") + ")" }
}
