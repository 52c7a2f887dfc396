import Foundation

/// Which implementation the attention layers use for inference (training always keeps the reference path, whose
/// probabilities the backward pass reads). One switch for the process; `MICROSCOPEGYM_FUSED_ATTENTION=1` sets it.
public enum AttentionKernel: String, Sendable {
    /// Per head: scores by `cblas_sgemm` (T×T×D), softmax rows, product with V by `cblas_sgemm` (the reference).
    case blas
    /// Per head and query: scores against keys packed D×T, softmax and the weighted sum of V in one pass over the
    /// keys, eight keys per SIMD lane group, nothing larger than one score row leaving the cache.
    case fused

    nonisolated(unsafe) public static var current: AttentionKernel =
        ProcessInfo.processInfo.environment["MICROSCOPEGYM_FUSED_ATTENTION"] == "1" ? .fused : .blas
}

/// Queries handled together: each key block and value row loaded serves this many accumulators.
let fusedAttentionTile = 4

/// Fused attention of one head: ctx_i = Σ_j softmax_j(scale·q_i·k_j) v_j for every query i, over T keys.
/// q, k, v and ctx are T rows of width D with row stride `stride` (a head's columns of an (N·T)×C matrix).
/// `packed` (D·T floats) and `scores` (`fusedAttentionTile`·T floats) are scratch. Sums run in another order than
/// the BLAS path's, so results differ in the last bits (both are checked against a double-precision reference).
@inline(__always)
func fusedAttentionHead(
    q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, ctx: UnsafeMutablePointer<Float>,
    length T: Int, headDim D: Int, stride: Int, scale: Float,
    packed: UnsafeMutablePointer<Float>, scores: UnsafeMutablePointer<Float>
) {
    // Keys transposed to D×T: a query's scores are D scaled rows added together, 8 keys at a time.
    for j in 0..<T { for d in 0..<D { packed[d * T + j] = k[j * stride + d] } }
    let wide = T & ~7
    var i0 = 0
    while i0 < T {
        let tile = min(fusedAttentionTile, T - i0)
        // Scores of `tile` queries: each 8-key block of every packed row is loaded once for all of them.
        var j = 0
        while j < wide {
            var acc = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
            for d in 0..<D {
                let kd = UnsafeRawPointer(packed + d * T + j).loadUnaligned(as: SIMD8<Float>.self)
                acc.0 += SIMD8(repeating: q[i0 * stride + d]) * kd
                if tile > 1 { acc.1 += SIMD8(repeating: q[(i0 + 1) * stride + d]) * kd }
                if tile > 2 { acc.2 += SIMD8(repeating: q[(i0 + 2) * stride + d]) * kd }
                if tile > 3 { acc.3 += SIMD8(repeating: q[(i0 + 3) * stride + d]) * kd }
            }
            UnsafeMutableRawPointer(scores + j).storeBytes(of: acc.0 * scale, as: SIMD8<Float>.self)
            if tile > 1 { UnsafeMutableRawPointer(scores + T + j).storeBytes(of: acc.1 * scale, as: SIMD8<Float>.self) }
            if tile > 2 {
                UnsafeMutableRawPointer(scores + 2 * T + j).storeBytes(of: acc.2 * scale, as: SIMD8<Float>.self)
            }
            if tile > 3 {
                UnsafeMutableRawPointer(scores + 3 * T + j).storeBytes(of: acc.3 * scale, as: SIMD8<Float>.self)
            }
            j += 8
        }
        for r in 0..<tile {
            let qi = q + (i0 + r) * stride
            for j in wide..<T {
                var acc: Float = 0
                for d in 0..<D { acc += qi[d] * packed[d * T + j] }
                scores[r * T + j] = acc * scale
            }
        }
        for r in 0..<tile {
            let inv = 1 / expShiftedRow(scores + r * T, cols: T)
            let out = ctx + (i0 + r) * stride
            let p = scores + r * T
            // Σ_j p_j v_j, eight output lanes at a time in a register across all keys.
            var d = 0
            while d + 8 <= D {
                var acc = SIMD8<Float>()
                for j in 0..<T {
                    acc +=
                        SIMD8(repeating: p[j])
                        * UnsafeRawPointer(v + j * stride + d).loadUnaligned(as: SIMD8<Float>.self)
                }
                UnsafeMutableRawPointer(out + d).storeBytes(of: acc * inv, as: SIMD8<Float>.self)
                d += 8
            }
            while d < D {
                var acc: Float = 0
                for j in 0..<T { acc += p[j] * v[j * stride + d] }
                out[d] = acc * inv
                d += 1
            }
        }
        i0 += tile
    }
}
