import Foundation

/// Numerically stable softmax of each row, in place, vectorised 8 lanes wide with `expNonPositive`.
@inline(__always)
func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
    let wide = cols & ~7
    for r in 0..<rows {
        let row = x + r * cols
        let inv = 1 / expShiftedRow(row, cols: cols)
        let inv8 = SIMD8<Float>(repeating: inv)
        var j = 0
        while j < wide {
            let p = UnsafeMutableRawPointer(row + j)
            p.storeBytes(of: p.loadUnaligned(as: SIMD8<Float>.self) * inv8, as: SIMD8<Float>.self)
            j += 8
        }
        for j in wide..<cols { row[j] *= inv }
    }
}

/// Replaces row[j] by exp(row[j] − max row) and returns the row's sum: softmax without the final division,
/// which inference defers to the (much smaller) product of the probabilities with V.
@inline(__always)
func expShiftedRow(_ row: UnsafeMutablePointer<Float>, cols: Int) -> Float {
    let wide = cols & ~7
    var m8 = SIMD8<Float>(repeating: -.infinity)
    var j = 0
    while j < wide {
        let v = UnsafeRawPointer(row + j).loadUnaligned(as: SIMD8<Float>.self)
        m8.replace(with: v, where: v .> m8)  // not pointwiseMax: its NaN rules compile to scalar code
        j += 8
    }
    var m = m8.max()
    for j in wide..<cols where row[j] > m { m = row[j] }
    let mv = SIMD8<Float>(repeating: m)
    var s8 = SIMD8<Float>()
    j = 0
    while j < wide {
        let e = expNonPositive(UnsafeRawPointer(row + j).loadUnaligned(as: SIMD8<Float>.self) - mv)
        UnsafeMutableRawPointer(row + j).storeBytes(of: e, as: SIMD8<Float>.self)
        s8 += e
        j += 8
    }
    var s = s8.sum()
    for j in wide..<cols {
        let e = expNonPositive(SIMD8(repeating: row[j] - m))[0]
        row[j] = e
        s += e
    }
    return s
}

/// d ← p ⊙ (d − Σ_j p_j d_j) · scale for one row of softmax probabilities p and their upstream gradient d,
/// eight lanes at once.
@inline(__always)
func softmaxBackwardRow(_ p: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>, cols: Int, scale: Float) {
    let wide = cols & ~7
    var acc = SIMD8<Float>()
    var j = 0
    while j < wide {
        acc +=
            UnsafeRawPointer(p + j).loadUnaligned(as: SIMD8<Float>.self)
            * UnsafeRawPointer(d + j).loadUnaligned(as: SIMD8<Float>.self)
        j += 8
    }
    var dot = acc.sum()
    for j in wide..<cols { dot += p[j] * d[j] }
    let dot8 = SIMD8<Float>(repeating: dot)
    let sc8 = SIMD8<Float>(repeating: scale)
    j = 0
    while j < wide {
        let pv = UnsafeRawPointer(p + j).loadUnaligned(as: SIMD8<Float>.self)
        let dv = UnsafeRawPointer(d + j).loadUnaligned(as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(d + j).storeBytes(of: pv * (dv - dot8) * sc8, as: SIMD8<Float>.self)
        j += 8
    }
    for j in wide..<cols { d[j] = p[j] * (d[j] - dot) * scale }
}

/// exp(x) for x ≤ 0, eight lanes at once (softmax after subtracting the row maximum). Cephes `expf`:
/// x = n·ln2 + r with n = round(x·log2 e) and |r| ≤ ½ln2 (ln2 split in two for exact reduction),
/// exp(r) by its degree-7 minimax polynomial, times 2ⁿ built in the exponent bits. Relative error
/// ≤ 2 ulp over [−87, 0] (tested against `expf`); inputs below −87 give ≈ 1.6e−38 instead of a
/// denormal or 0, which no softmax sum can notice. Uses only SSE2 operations (no FMA/SSE4.1 needed).
@inline(__always)
func expNonPositive(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let floor = SIMD8<Float>(repeating: -87)
    let xc = x.replacing(with: floor, where: x .< floor)
    let shifter = SIMD8<Float>(repeating: 12_582_912)  // 1.5·2²³: adding it rounds to an integer
    let t = xc * 1.442_695_040_888_963_4 + shifter
    let n = t - shifter
    var r = xc - n * 0.693_359_375
    r = r - n * -2.121_944_400_546_905_8e-4
    var p = SIMD8<Float>(repeating: 1.987_569_150_0e-4)
    p = p * r + 1.398_199_950_7e-3
    p = p * r + 8.333_451_907_3e-3
    p = p * r + 4.166_579_589_4e-2
    p = p * r + 1.666_666_545_9e-1
    p = p * r + 5.000_000_120_1e-1
    p = p * (r * r) + r + 1
    // t's bit pattern is 0x4B40_0000 + n for |n| < 2²²; 2ⁿ has exponent bits n + 127.
    let bits = unsafeBitCast(t, to: SIMD8<UInt32>.self) &- 0x4B40_0000 &+ 127
    return p * unsafeBitCast(bits &<< 23, to: SIMD8<Float>.self)
}
