import Foundation

/// Which implementation the attention layers use for inference (training always keeps the reference path, whose
/// probabilities the backward pass reads). One switch for the process; `MICROSCOPEGYM_FUSED_ATTENTION=1` sets it.
/// `gym-runner bench` measures both. On the 2-core Xeon this was written on (quiet, Haswell kernel) the fused kernel
/// is slower: 103 / 173 / 209 against 153 / 278 / 229 trajectories/s at batch 1 / 16 / 256, so `blas` stays the
/// default (and the golden traces are those of the BLAS path). The package is compiled for baseline x86-64, so its
/// `SIMD8<Float>` becomes pairs of SSE instructions without FMA, while OpenBLAS dispatches AVX2/AVX-512 kernels at
/// run time: a competitive kernel needs the same (e.g. a C target with `target("avx2,fma")` functions and a CPU check).
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
        // Rows of the tile; a last, partial tile repeats its last query (computed, never stored), keeping the inner
        // loops free of branches.
        let q0 = q + i0 * stride
        let q1 = q + min(i0 + 1, T - 1) * stride
        let q2 = q + min(i0 + 2, T - 1) * stride
        let q3 = q + min(i0 + 3, T - 1) * stride
        // Scores of the tile's queries: each 8-key block of every packed row is loaded once for all of them.
        var j = 0
        while j < wide {
            var acc = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
            for d in 0..<D {
                let kd = UnsafeRawPointer(packed + d * T + j).loadUnaligned(as: SIMD8<Float>.self)
                acc.0 += SIMD8(repeating: q0[d]) * kd
                acc.1 += SIMD8(repeating: q1[d]) * kd
                acc.2 += SIMD8(repeating: q2[d]) * kd
                acc.3 += SIMD8(repeating: q3[d]) * kd
            }
            UnsafeMutableRawPointer(scores + j).storeBytes(of: acc.0 * scale, as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(scores + T + j).storeBytes(of: acc.1 * scale, as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(scores + 2 * T + j).storeBytes(of: acc.2 * scale, as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(scores + 3 * T + j).storeBytes(of: acc.3 * scale, as: SIMD8<Float>.self)
            j += 8
        }
        for r in 0..<fusedAttentionTile {
            let qi = q + min(i0 + r, T - 1) * stride
            for j in wide..<T {
                var acc: Float = 0
                for d in 0..<D { acc += qi[d] * packed[d * T + j] }
                scores[r * T + j] = acc * scale
            }
        }
        // exp(score − row max) in place; the division by the row sums waits for the (smaller) products with V.
        var inv = SIMD4<Float>(repeating: 0)
        for r in 0..<fusedAttentionTile { inv[r] = 1 / expShiftedRow(scores + r * T, cols: T) }
        // Σ_j p_j v_j for the tile: eight output lanes per query in registers, each value row loaded once for all.
        var d = 0
        while d + 8 <= D {
            var acc = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
            for j in 0..<T {
                let vj = UnsafeRawPointer(v + j * stride + d).loadUnaligned(as: SIMD8<Float>.self)
                acc.0 += SIMD8(repeating: scores[j]) * vj
                acc.1 += SIMD8(repeating: scores[T + j]) * vj
                acc.2 += SIMD8(repeating: scores[2 * T + j]) * vj
                acc.3 += SIMD8(repeating: scores[3 * T + j]) * vj
            }
            let out = ctx + i0 * stride + d
            UnsafeMutableRawPointer(out).storeBytes(of: acc.0 * inv[0], as: SIMD8<Float>.self)
            if tile > 1 { UnsafeMutableRawPointer(out + stride).storeBytes(of: acc.1 * inv[1], as: SIMD8<Float>.self) }
            if tile > 2 {
                UnsafeMutableRawPointer(out + 2 * stride).storeBytes(of: acc.2 * inv[2], as: SIMD8<Float>.self)
            }
            if tile > 3 {
                UnsafeMutableRawPointer(out + 3 * stride).storeBytes(of: acc.3 * inv[3], as: SIMD8<Float>.self)
            }
            d += 8
        }
        while d < D {
            for r in 0..<tile {
                var acc: Float = 0
                for j in 0..<T { acc += scores[r * T + j] * v[j * stride + d] }
                ctx[(i0 + r) * stride + d] = acc * inv[r]
            }
            d += 1
        }
        i0 += tile
    }
}
