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
        var rng = Xoshiro256StarStar(seed: 17)
        // (T, D, stride, magnitude): the model's head (200, 16), T not a multiple of 8, D not a multiple of 8,
        // one key, and scores large enough that an unshifted exp would overflow.
        for (T, D, stride, magnitude) in [
            (200, 16, 64, 1.0), (37, 16, 48, 1.0), (13, 5, 9, 1.0), (1, 8, 8, 1.0),
            (24, 8, 8, 30.0)
        ] {
            let n = T * stride
            let q = (0..<n).map { _ in Float(magnitude * rng.normal()) }
            let k = (0..<n).map { _ in Float(magnitude * rng.normal()) }
            let v = (0..<n).map { _ in Float(rng.normal()) }
            var ctx = [Float](repeating: .nan, count: n)
            var packed = [Float](repeating: 0, count: D * T)
            var scores = [Float](repeating: 0, count: fusedAttentionTile * T)
            let scale = 1 / Float(D * 4).squareRoot()
            fusedAttentionHead(
                q: q, k: k, v: v, ctx: &ctx, length: T, headDim: D, stride: stride, scale: scale, packed: &packed,
                scores: &scores)
            let want = reference(q, k, v, T: T, D: D, stride: stride, scale: scale)
            var worst = 0.0
            for i in 0..<T {
                for d in 0..<D {
                    let err = abs(Double(ctx[i * stride + d]) - want[i * D + d]) / max(1, abs(want[i * D + d]))
                    worst = max(worst, err)
                }
            }
            XCTAssertLessThan(worst, 1e-5, "T \(T), D \(D), magnitude \(magnitude)")
        }
    }
}
