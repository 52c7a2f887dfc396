import Foundation
import LeonardoKernels

// Activations are row-major with channels last: a sequence batch of N trajectories, T time steps and
// C channels is an (N·T)×C matrix, so every Linear layer is one GEMM over all N·T rows.
// Conventions for every layer: `forward` overwrites its output; `backward` ADDS into the input gradient
// (so branches and residuals just accumulate) and adds into the parameter gradients of the store.

/// Fully connected layer y = x·Wᵀ + b, weight [out, in] (PyTorch `nn.Linear`).
public final class Linear {
    public let inFeatures: Int, outFeatures: Int
    public let weight: ParameterRef
    public let bias: ParameterRef?
    unowned let store: ParameterStore
    let transposedWeight = DerivedWeights()
    /// Whether the input is a ReLU's output (mostly zeros), so that `forwardSparseInput` pays: set by the model for
    /// the decoder's bottleneck. Used at inference under `InferenceKernels.simd` on at most
    /// `InferenceKernels.fewRows` rows, weights of more than `InferenceKernels.rowsKernelWeights` entries,
    /// and only in a frozen store (`ParameterStore.freeze`), since its rearranged weight is too large to compare
    /// with the weights at every call.
    public var sparseInput = false
    let sparseWeight = DerivedWeights()
    private let sparseValues = FloatBuffer()
    private var sparseIndices = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
    private var sparseIndexCapacity = 1

    public init(_ store: ParameterStore, _ name: String, _ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) {
        self.store = store
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        weight = store.declare(name + ".weight", [outFeatures, inFeatures], .uniformFanIn(inFeatures))
        self.bias = bias ? store.declare(name + ".bias", [outFeatures], .uniformFanIn(inFeatures)) : nil
    }

    /// A second instance of `other` for another thread: the same parameters, its own buffers.
    public init(sharing other: Linear) {
        store = other.store
        inFeatures = other.inFeatures
        outFeatures = other.outFeatures
        weight = other.weight
        bias = other.bias
    }

    deinit { sparseIndices.deallocate() }

    public var flopsPerRow: Int { 2 * inFeatures * outFeatures }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int) {
        if let b = bias {
            let bp = store.value(b)
            for r in 0..<rows { (y + r * outFeatures).update(from: bp, count: outFeatures) }
            sgemm(transB: true, m: rows, n: outFeatures, k: inFeatures, a: x, b: store.value(weight), beta: 1, c: y)
        } else {
            sgemm(transB: true, m: rows, n: outFeatures, k: inFeatures, a: x, b: store.value(weight), beta: 0, c: y)
        }
    }

    /// y = act(x·Wᵀ + b + residual) in `mode`: for training on the reference path `forward` and then the residual
    /// and ReLU as separate passes, otherwise `forwardInference` under the mode's kernels (the backward pass reads
    /// only x and the output's gradient, so a training forward may take the inference kernels).
    public func forward(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, mode: ForwardMode,
        residual: UnsafePointer<Float>? = nil, relu: Bool = false
    ) {
        switch mode {
        case .training(let kernels) where kernels.path == .blas:
            forward(x, y, rows: rows)
            addResidualAndReLU(y, count: rows * outFeatures, residual: residual, relu: relu)
        case .training(let kernels), .inference(let kernels):
            forwardInference(x, y, rows: rows, residual: residual, relu: relu, kernels: kernels)
        }
    }

    /// Inference, y = act(x·Wᵀ + b + residual) with act ReLU when `relu`. Under `InferenceKernels.simd` the kernel
    /// follows from the weight alone, so a row's result does not depend on how many rows share the call (the batch,
    /// the per-worker lanes): `forwardRows` (the epilogue fused) for weights of at most
    /// `InferenceKernels.rowsKernelWeights` entries; for larger ones (the decoder's 1024→6400 bottleneck)
    /// `forwardFewRows` on up to `InferenceKernels.fewRows` rows (a decode chunk) and `forward` above, where
    /// OpenBLAS's packing pays. Under `.blas`, `forward`. Outside the fused kernel the residual and ReLU follow as
    /// separate passes. `residual` is rows×out like y.
    public func forwardInference(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, residual: UnsafePointer<Float>? = nil,
        relu: Bool = false, kernels: KernelChoice
    ) {
        let simd = kernels.path == .simd
        if simd && inFeatures * outFeatures <= InferenceKernels.rowsKernelWeights {
            forwardRows(x, y, rows: rows, residual: residual, relu: relu, level: kernels.level)
            return
        }
        if simd && sparseInput && store.isFrozen && rows <= InferenceKernels.fewRows {
            forwardSparseInput(x, y, rows: rows, level: kernels.level)
        } else if simd && rows <= InferenceKernels.fewRows {
            forwardFewRows(x, y, rows: rows, level: kernels.level)
        } else {
            forward(x, y, rows: rows)
        }
        addResidualAndReLU(y, count: rows * outFeatures, residual: residual, relu: relu)
    }

    /// The product on many rows by `lk_gemm_rows` against the transposed weight (made once, remade when the weights
    /// change), with the bias, the residual and ReLU applied in the kernel's tile; sums run in another order than
    /// `cblas_sgemm`'s.
    public func forwardRows(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, residual: UnsafePointer<Float>? = nil,
        relu: Bool = false, level: KernelLevel
    ) {
        let wt = transposedWeight.transpose(store.value(weight), out: outFeatures, in: inFeatures, store: store)
        gemmRows(
            x, rows: rows, in: inFeatures, transposedWeight: wt, out: outFeatures,
            bias: bias.map { UnsafePointer(store.value($0)) }, residual: residual, relu: relu, y, ldy: outFeatures,
            level: level)
    }

    /// The same product on a few rows by `lk_linear_few_rows` (each weight row read once, never packed): the
    /// decoder's dense layers at small inference batches under `InferenceKernels.simd`. Outputs are split over the
    /// workers; sums run in another order than `cblas_sgemm`'s.
    public func forwardFewRows(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, level: KernelLevel
    ) {
        let w = UnsafePointer(store.value(weight))
        let b = bias.map { UnsafePointer(store.value($0)) }
        let (rowsIn, inF, outF) = (Int32(rows), Int32(inFeatures), Int32(outFeatures))
        let parts = outFeatures * rows * inFeatures >= 1 << 18 ? Workers.count : 1
        parallelFor(parts, workers: parts) { part, _ in
            // Even boundaries keep the kernel's weight-row pairs whole.
            let lo = (outFeatures * part / parts) & ~1
            let hi = part == parts - 1 ? outFeatures : (outFeatures * (part + 1) / parts) & ~1
            lk_linear_few_rows(x, rowsIn, inF, w, b, y, outF, Int32(lo), Int32(hi), Int32(level.rawValue))
        }
    }

    /// The product by `lk_linear_sparse_input`: each row reads only the weight columns of its nonzero inputs, from a
    /// tiled copy of the weight (made once per frozen store: see `sparseInput`). The tiles are split over the
    /// workers; each row sums bias first, then over its nonzero inputs in order (another order than `cblas_sgemm`'s
    /// and the few-rows kernel's), so a row's result does not depend on the rows beside it.
    public func forwardSparseInput(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, level: KernelLevel
    ) {
        let (inF, outF) = (Int32(inFeatures), Int32(outFeatures))
        let wb = sparseWeight.of(
            store.value(weight), count: inFeatures * outFeatures, store: store,
            derivedCount: Int(lk_sparse_input_weights_size(inF, outF))
        ) { w, wb in lk_sparse_input_arrange(w, inF, outF, wb) }
        let b = bias.map { UnsafePointer(store.value($0)) }
        let tiles = (outFeatures + Int(LK_SPARSE_TILE) - 1) / Int(LK_SPARSE_TILE)
        let parts = min(Workers.count, tiles)
        let scratch = parts * rows * inFeatures
        let values = sparseValues.reserve(scratch)
        if sparseIndexCapacity < scratch {
            sparseIndices.deallocate()
            sparseIndexCapacity = scratch
            sparseIndices = .allocate(capacity: scratch)
        }
        let indices = sparseIndices
        parallelFor(parts, workers: parts) { part, _ in
            lk_linear_sparse_input(
                x, Int32(rows), inF, wb, outF, b, y, outF, Int32(tiles * part / parts),
                Int32(tiles * (part + 1) / parts), values + part * rows * inFeatures,
                indices + part * rows * inFeatures, Int32(level.rawValue))
        }
    }

    /// Accumulates dW, db and (if `dx` is given) dx from dy; dy's rows are `dyStride` floats apart (nil: packed).
    public func backward(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>?, rows: Int,
        dyStride: Int? = nil
    ) {
        let ld = dyStride ?? outFeatures
        sgemm(
            transA: true, m: outFeatures, n: inFeatures, k: rows, a: dy, lda: ld, b: x, beta: 1,
            c: store.grad(weight))
        if let b = bias {
            let db = store.grad(b)
            for r in 0..<rows {
                let row = dy + r * ld
                for o in 0..<outFeatures { db[o] += row[o] }
            }
        }
        if let dx {
            sgemm(m: rows, n: inFeatures, k: outFeatures, a: dy, lda: ld, b: store.value(weight), beta: 1, c: dx)
        }
    }
}
