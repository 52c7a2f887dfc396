import Foundation

/// The project's pseudo-random generator: xoshiro256** (Blackman & Vigna, 2018), seeded through SplitMix64.
///
/// Every random draw in MicroscopeGym comes from an explicit `Xoshiro256StarStar` passed down by the caller.
/// Uniform and normal variates are produced by this type's own mappings (not the standard library's, whose
/// mappings may change between Swift versions), so the same seed gives bit-identical results everywhere.
public struct Xoshiro256StarStar: RandomNumberGenerator, Equatable, Sendable {
    /// The four 64-bit words of state. Exposed so checkpoints can save and restore a generator exactly.
    public var state: (UInt64, UInt64, UInt64, UInt64)
    /// A spare standard normal from the last Box–Muller pair, if any (part of the state).
    public var spareNormal: Double?

    /// Seeds the generator by running SplitMix64 from `seed` (the recommended seeding of xoshiro).
    public init(seed: UInt64) {
        var sm = seed
        func splitmix() -> UInt64 {
            sm &+= 0x9E37_79B9_7F4A_7C15
            var z = sm
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitmix(), splitmix(), splitmix(), splitmix())
        spareNormal = nil
    }

    /// Restores a generator from saved state words.
    public init(state: [UInt64], spareNormal: Double? = nil) {
        precondition(state.count == 4, "xoshiro256** state has 4 words")
        self.state = (state[0], state[1], state[2], state[3])
        self.spareNormal = spareNormal
    }

    public var stateWords: [UInt64] { [state.0, state.1, state.2, state.3] }

    public static func == (a: Self, b: Self) -> Bool {
        a.stateWords == b.stateWords && a.spareNormal == b.spareNormal
    }

    @inline(__always)
    private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = Self.rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = Self.rotl(state.3, 45)
        return result
    }

    /// Uniform double in [0, 1) with 53 random bits.
    @inline(__always)
    public mutating func uniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Uniform double in (0, 1]: safe for logarithms.
    @inline(__always)
    public mutating func uniformPositive() -> Double {
        (Double(next() >> 11) + 1) * 0x1.0p-53
    }

    /// Uniform double in [a, b).
    @inline(__always)
    public mutating func uniform(_ a: Double, _ b: Double) -> Double { a + (b - a) * uniform() }

    /// Uniform integer in 0..<n (Lemire's nearly-divisionless method, unbiased).
    public mutating func uniformInt(_ n: Int) -> Int {
        precondition(n > 0, "uniformInt needs n > 0")
        let bound = UInt64(n)
        var m = next().multipliedFullWidth(by: bound)
        if m.low < bound {
            let threshold = (0 &- bound) % bound
            while m.low < threshold { m = next().multipliedFullWidth(by: bound) }
        }
        return Int(m.high)
    }

    /// Standard normal variate by the Box–Muller transform; the second value of each pair is kept as a spare.
    public mutating func normal() -> Double {
        if let s = spareNormal {
            spareNormal = nil
            return s
        }
        let u1 = uniformPositive()
        let u2 = uniform()
        let r = (-2.0 * Foundation.log(u1)).squareRoot()
        let theta = 2.0 * Double.pi * u2
        spareNormal = r * Foundation.sin(theta)
        return r * Foundation.cos(theta)
    }

    /// Fills `buffer` with independent standard normals (float32).
    public mutating func fillNormal(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { buffer[i] = Float(normal()) }
    }

    /// A new generator whose stream is independent of this one's continuation (seeded from this one).
    public mutating func split() -> Xoshiro256StarStar { Xoshiro256StarStar(seed: next()) }

    /// Fisher–Yates shuffle with this generator.
    public mutating func shuffle<T>(_ a: inout [T]) {
        if a.count < 2 { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) {
            let j = uniformInt(i + 1)
            if i != j { a.swapAt(i, j) }
        }
    }
}
