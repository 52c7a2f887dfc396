import Foundation
import XCTest

@testable import LeonardoSim

/// The fused attention kernel against a double-precision reference (the layer's fused inference against its other
/// paths is in `KernelTests`).
final class FusedAttentionTests: XCTestCase {
    /// ctx_i = Σ_j softmax_j(scale·q_i·k_j) v_j in double precision.
    func reference(_ q: [Float], _ k: [Float], _ v: [Float], T: Int, D: Int, stride: Int, scale: Float) -> [Double] {
        var out = [Double](repeating: 0, count: T * D)
        for i in 0..<T {
            var s = [Double](repeating: 0, count: T)
            for j in 0..<T {
                for d in 0..<D { s[j] += Double(q[i * stride + d]) * Double(k[j * stride + d]) }
                s[j] *= Double(scale)
            }
            let m = s.max()!
            let e = s.map { exp($0 - m) }
            let z = e.reduce(0, +)
            for j in 0..<T { for d in 0..<D { out[i * D + d] += e[j] / z * Double(v[j * stride + d]) } }
        }
        return out
    }

    func testMatchesTheDoublePrecisionReferenceOnRandomAndEdgeShapes() {
        // (T, D, stride, magnitude): the model's head (200, 16), T not a multiple of the key block (32) or of the
        // query tile (6), D not a multiple of 8 or 16, D wider than one AVX-512 register, one key, and scores large
        // enough that an unshifted exp would overflow.
        let shapes = [
            (200, 16, 128, 1.0), (37, 16, 48, 1.0), (13, 5, 9, 1.0), (1, 8, 8, 1.0), (24, 8, 8, 30.0),
            (33, 20, 20, 1.0), (64, 32, 40, 2.0), (7, 1, 3, 1.0)
        ]
        XCTAssertFalse(KernelLevel.supported.isEmpty)
        for level in KernelLevel.supported {
            var rng = Xoshiro256StarStar(seed: 17)
            for (T, D, stride, magnitude) in shapes {
                let n = T * stride
                let q = (0..<n).map { _ in Float(magnitude * rng.normal()) }
                let k = (0..<n).map { _ in Float(magnitude * rng.normal()) }
                let v = (0..<n).map { _ in Float(rng.normal()) }
                // Columns outside the head (stride > D) must come back untouched.
                var ctx = [Float](repeating: .nan, count: n)
                var scratch = [Float](repeating: .nan, count: fusedAttentionScratch(length: T, headDim: D))
                let scale = 1 / Float(D * 4).squareRoot()
                fusedAttentionHead(
                    q: q, k: k, v: v, ctx: &ctx, length: T, headDim: D, stride: stride, scale: scale,
                    scratch: &scratch, level: level)
                let want = reference(q, k, v, T: T, D: D, stride: stride, scale: scale)
                var worst = 0.0
                for i in 0..<T {
                    for d in 0..<D {
                        let err = abs(Double(ctx[i * stride + d]) - want[i * D + d]) / max(1, abs(want[i * D + d]))
                        worst = max(worst, err.isNaN ? .infinity : err)
                    }
                    for d in D..<stride { XCTAssertTrue(ctx[i * stride + d].isNaN, "\(level.name) wrote column \(d)") }
                }
                // Scores are rounded to float32 before exp, so a probability carries a relative error up to a few
                // ulp of the largest |score| (≈ 500 at magnitude 30): that much is allowed on top of 1e-5.
                var largest = 0.0
                for i in 0..<T {
                    for j in 0..<T {
                        var s = 0.0
                        for d in 0..<D { s += Double(q[i * stride + d]) * Double(k[j * stride + d]) }
                        largest = max(largest, abs(s) * Double(scale))
                    }
                }
                let tolerance = 1e-5 + 4 * Double(Float.ulpOfOne) * largest
                XCTAssertLessThan(worst, tolerance, "\(level.name): T \(T), D \(D), magnitude \(magnitude)")
            }
        }
    }

    /// Every level computes the same function: the SIMD levels agree with the portable C loops to float rounding.
    func testLevelsAgreeWithThePortableKernel() {
        var rng = Xoshiro256StarStar(seed: 23)
        let T = 50
        let D = 16
        let stride = 32
        let x = (0..<(3 * T * stride)).map { _ in Float(rng.normal()) }
        func run(_ level: KernelLevel) -> [Float] {
            var ctx = [Float](repeating: 0, count: T * stride)
            var scratch = [Float](repeating: 0, count: fusedAttentionScratch(length: T, headDim: D))
            x.withUnsafeBufferPointer { p in
                let b = p.baseAddress!
                fusedAttentionHead(
                    q: b, k: b + T * stride, v: b + 2 * T * stride, ctx: &ctx, length: T, headDim: D, stride: stride,
                    scale: 0.25, scratch: &scratch, level: level)
            }
            return ctx
        }
        let portable = run(.portable)
        for level in KernelLevel.supported where level != .portable {
            let fast = run(level)
            for i in 0..<portable.count {
                XCTAssertEqual(fast[i], portable[i], accuracy: 2e-6 * max(1, abs(portable[i])), "\(level.name) at \(i)")
            }
        }
    }
}
