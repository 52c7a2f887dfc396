import Foundation
import LeonardoKernels

/// A rearranged copy of a weight tensor (a transpose for `lk_gemm_rows`, a tap-major reorder for the windowed
/// convolutions), kept between calls. A call compares the weights with the copy the arrangement was made from (a
/// memcmp, a few µs against the product's FMAs), so any change to them, an optimiser step, a loaded checkpoint or a
/// direct write, is seen on the next call; inside `ParameterStore.withWeightsFrozen` that comparison is made once
/// per scope. One instance serves one layer; like the layers' buffers it is not shared between threads.
final class DerivedWeights {
    private let source = FloatBuffer(), derived = FloatBuffer()
    private var count = -1
    private var verifiedScope = 0

    /// The arrangement of the `count` weights at w made by `arrange` (source, destination) into `derivedCount`
    /// floats: the kept copy when the weights are those it was made from.
    func of(
        _ w: UnsafePointer<Float>, count n: Int, store: ParameterStore, derivedCount: Int,
        arrange: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void
    ) -> UnsafePointer<Float> {
        let scope = store.frozenScope
        if n == count && scope != 0 && scope == verifiedScope { return UnsafePointer(derived.pointer) }
        verifiedScope = scope
        if n == count && memcmp(source.pointer, w, n * MemoryLayout<Float>.stride) == 0 {
            return UnsafePointer(derived.pointer)
        }
        source.reserve(n).update(from: w, count: n)
        arrange(w, derived.reserve(derivedCount))
        count = n
        return UnsafePointer(derived.pointer)
    }

    /// The transpose of the `out`×`in` matrix at w: out·in floats, row i holding column i of w.
    func transpose(_ w: UnsafePointer<Float>, out: Int, in inFeatures: Int, store: ParameterStore)
        -> UnsafePointer<Float>
    {
        of(w, count: out * inFeatures, store: store, derivedCount: out * inFeatures) { w, t in
            for o in 0..<out {
                let row = w + o * inFeatures
                for i in 0..<inFeatures { t[i * out + o] = row[i] }
            }
        }
    }
}

/// y = act(x·W + b + residual) over `rows` rows by `lk_gemm_rows`, the rows split over the workers: x is rows×in
/// (row-major), `wt` the transposed weight (in×out), y rows `ldy` apart (`residual` rows `out` apart, as the layer's
/// own output). The dense layers of the decoder on many rows under `InferenceKernels.simd`: no packing copy, bias,
/// residual and ReLU applied in the tile before its store.
func gemmRows(
    _ x: UnsafePointer<Float>, rows: Int, in inFeatures: Int, transposedWeight wt: UnsafePointer<Float>, out: Int,
    bias: UnsafePointer<Float>?, residual: UnsafePointer<Float>?, relu: Bool, _ y: UnsafeMutablePointer<Float>,
    ldy: Int, level: KernelLevel
) {
    // A part of at least 48 rows (eight of the kernel's six-row tiles) keeps the split worth its fork.
    let parts = max(1, min(Workers.count, rows / 48))
    parallelFor(parts, workers: parts) { part, _ in
        let r0 = rows * part / parts
        let r1 = rows * (part + 1) / parts
        lk_gemm_rows(
            x + r0 * inFeatures, Int32(inFeatures), Int32(r1 - r0), Int32(inFeatures), wt, Int32(out), bias,
            residual.map { $0 + r0 * out }, Int32(out), relu ? 1 : 0, y + r0 * ldy, Int32(ldy), Int32(level.rawValue))
    }
}

/// The epilogue of the BLAS and few-row paths as separate passes, in the fused kernel's order: y += residual, then
/// ReLU.
@inline(__always)
func addResidualAndReLU(_ y: UnsafeMutablePointer<Float>, count: Int, residual: UnsafePointer<Float>?, relu: Bool) {
    if let residual { for i in 0..<count { y[i] += residual[i] } }
    if relu { reluForward(y, count: count) }
}
