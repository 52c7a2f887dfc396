import Foundation
import LeonardoKernels

/// Multi-head self-attention exactly as in the released LEONARDO code (`SelfAttention`):
/// `values`, `keys`, `queries` are bias-free Linear C→C, heads of width C/H, scores Q·Kᵀ/√C
/// (scaled by the model width C, not the head width — a quirk of the released code, kept),
/// softmax over keys, weighted sum of V, heads concatenated, `fc_out` Linear C→C with bias. No mask.
public final class SelfAttention {
    public let embed: Int, heads: Int, headDim: Int
    public let values: Linear, keys: Linear, queries: Linear, fcOut: Linear
    let scale: Float
    // Cached activations (rows = N·T).
    let v = FloatBuffer(), k = FloatBuffer(), q = FloatBuffer(), ctx = FloatBuffer()
    let probs = FloatBuffer()  // training: N·H·T·T; inference: one T·T block per worker
    let dv = FloatBuffer(), dk = FloatBuffer(), dq = FloatBuffer(), dctx = FloatBuffer()
    let dqkv = FloatBuffer()  // fused training: dV | dK | dQ side by side, rows of 3C
    let dscores = FloatBuffer()  // one T·T block per worker
    let rowSums = FloatBuffer()  // inference: T softmax sums per worker (BLAS path)
    // Inference with the hand-written kernels: V|K|Q projections side by side, their stacked weights, and per worker
    // the packed keys and a query tile's scores.
    let qkv = FloatBuffer(), stackedWeights = FloatBuffer(), fusedScratch = FloatBuffer()
    let stackedTransposed = DerivedWeights()
    /// What the last forward pass kept for `backward`.
    var kept = KeptForward.nothing
    enum KeptForward: Equatable {
        case nothing
        /// v, k, q and the probabilities N·H·T·T of the reference path.
        case blas
        /// The stacked projections (rows of 3C) and the padded probabilities of `lk_attention_head_train`.
        case fused(KernelLevel)
    }

    public init(_ store: ParameterStore, _ name: String, embed: Int, heads: Int) {
        precondition(embed % heads == 0, "embed size \(embed) must be divisible by heads \(heads)")
        self.embed = embed
        self.heads = heads
        headDim = embed / heads
        values = Linear(store, name + ".values", embed, embed, bias: false)
        keys = Linear(store, name + ".keys", embed, embed, bias: false)
        queries = Linear(store, name + ".queries", embed, embed, bias: false)
        fcOut = Linear(store, name + ".fc_out", embed, embed)
        scale = 1 / Float(embed).squareRoot()
    }

    /// A second instance of `other` for another thread: the same parameters, its own buffers.
    public init(sharing other: SelfAttention) {
        (embed, heads, headDim, scale) = (other.embed, other.heads, other.headDim, other.scale)
        values = Linear(sharing: other.values)
        keys = Linear(sharing: other.keys)
        queries = Linear(sharing: other.queries)
        fcOut = Linear(sharing: other.fcOut)
    }

    public func flops(length T: Int) -> Int {
        4 * T * embed * embed * 2 + 2 * 2 * heads * T * T * headDim
    }

    /// out = A(valuesIn, keysIn, queriesIn) + residual; each input is (N·T)×C, and so is `residual` (nil: none).
    /// In training mode the softmax probabilities of every head are kept for the backward pass (the fused training
    /// kernels under `.simd` at AVX-512F with heads of at most 16 columns, else the reference path); inference on the
    /// hand-written kernels takes `forwardSIMD`.
    public func forward(
        values vin: UnsafePointer<Float>, keys kin: UnsafePointer<Float>, queries qin: UnsafePointer<Float>,
        out: UnsafeMutablePointer<Float>, batch N: Int, length T: Int, mode: ForwardMode,
        residual: UnsafePointer<Float>? = nil
    ) {
        if let level = mode.simdLevel {
            return forwardSIMD(
                values: vin, keys: kin, queries: qin, out: out, batch: N, length: T, residual: residual, level: level)
        }
        if let level = mode.trainingSIMDLevel, SelfAttention.hasFusedTraining(level: level, headDim: headDim) {
            return forwardSIMD(
                values: vin, keys: kin, queries: qin, out: out, batch: N, length: T, residual: residual, level: level,
                training: true)
        }
        let training = mode.isTraining
        let C = embed
        let rows = N * T
        let vp = v.reserve(rows * C)
        let kp = k.reserve(rows * C)
        let qp = q.reserve(rows * C)
        let cp = ctx.reserve(rows * C)
        values.forward(vin, vp, rows: rows)
        keys.forward(kin, kp, rows: rows)
        queries.forward(qin, qp, rows: rows)
        let workers = Workers.count
        let pp = probs.reserve(training ? N * heads * T * T : workers * T * T)
        let sp = rowSums.reserve(workers * T)
        kept = training ? .blas : .nothing
        let H = heads
        let D = headDim
        let sc = scale
        do {
            parallelFor(N * H, workers: workers) { item, worker in
                let n = item / H
                let h = item % H
                let qh = UnsafePointer(qp + n * T * C + h * D)
                let kh = UnsafePointer(kp + n * T * C + h * D)
                let vh = UnsafePointer(vp + n * T * C + h * D)
                let ch = cp + n * T * C + h * D
                let P = training ? pp + item * T * T : pp + worker * T * T
                sgemm(transB: true, m: T, n: T, k: D, alpha: sc, a: qh, lda: C, b: kh, ldb: C, beta: 0, c: P)
                if training {
                    softmaxRows(P, rows: T, cols: T)  // the backward pass needs the normalised probabilities
                    sgemm(m: T, n: D, k: T, a: P, b: vh, ldb: C, beta: 0, c: ch, ldc: C)
                } else {
                    // ctx = diag(1/s)·(exp-scores·V): divide the T×D product instead of the T×T scores.
                    let sums = sp + worker * T
                    for i in 0..<T { sums[i] = 1 / expShiftedRow(P + i * T, cols: T) }
                    sgemm(m: T, n: D, k: T, a: P, b: vh, ldb: C, beta: 0, c: ch, ldc: C)
                    for i in 0..<T {
                        let row = ch + i * C
                        let f = sums[i]
                        for d in 0..<D { row[d] *= f }
                    }
                }
            }
        }
        fcOut.forward(cp, out, rows: rows)
        addResidualAndReLU(out, count: rows * C, residual: residual, relu: false)
    }

    /// True when the fused training kernels (`lk_attention_head_train` and `lk_attention_head_backward`) run at
    /// `level` for heads of `headDim` columns: AVX-512F and at most 16 columns.
    static func hasFusedTraining(level: KernelLevel, headDim: Int) -> Bool { level >= .avx512 && headDim <= 16 }

    /// Inference with the hand-written kernels: the projections that share an input in one product (V, K and Q of
    /// the block's first attention, V and K of the transformer block's) written side by side into rows of 3C by
    /// `lk_gemm_rows`, the fused attention kernel per head on those rows, and `fc_out` with the residual added in its
    /// tile. With `training`, the same with each head's probabilities kept (`lk_attention_head_train`) beside the
    /// stacked projections and the context rows, for `backward`.
    func forwardSIMD(
        values vin: UnsafePointer<Float>, keys kin: UnsafePointer<Float>, queries qin: UnsafePointer<Float>,
        out: UnsafeMutablePointer<Float>, batch N: Int, length T: Int, residual: UnsafePointer<Float>?,
        level: KernelLevel, training: Bool = false
    ) {
        let C = embed
        let rows = N * T
        let width = 3 * C
        let xp = qkv.reserve(rows * width)
        let cp = ctx.reserve(rows * C)
        // The stacked weights [Wv; Wk; Wq] (3C×C): the store declares the three bias-free layers one after another,
        // so they are one block there; a copy otherwise.
        let v0 = values.weight.offset
        let wp: UnsafePointer<Float>
        if keys.weight.offset == v0 + C * C && queries.weight.offset == v0 + 2 * C * C {
            wp = UnsafePointer(values.store.value(values.weight))
        } else {
            let copy = stackedWeights.reserve(width * C)
            for (i, layer) in [values, keys, queries].enumerated() {
                (copy + i * C * C).update(from: layer.store.value(layer.weight), count: C * C)
            }
            wp = UnsafePointer(copy)
        }
        func project(
            _ input: UnsafePointer<Float>, _ wt: UnsafePointer<Float>, columns: Int, into y: UnsafeMutablePointer<Float>
        ) {
            gemmRows(
                input, rows: rows, in: C, transposedWeight: wt, out: columns, bias: nil, residual: nil, relu: false, y,
                ldy: width, level: level)
        }
        let store = values.store
        if vin == kin && kin == qin {
            project(vin, stackedTransposed.transpose(wp, out: width, in: C, store: store), columns: width, into: xp)
        } else if vin == kin {
            project(vin, stackedTransposed.transpose(wp, out: 2 * C, in: C, store: store), columns: 2 * C, into: xp)
            let wq = queries.transposedWeight.transpose(wp + 2 * C * C, out: C, in: C, store: store)
            project(qin, wq, columns: C, into: xp + 2 * C)
        } else {
            for (i, (input, layer)) in [(vin, values), (kin, keys), (qin, queries)].enumerated() {
                let wt = layer.transposedWeight.transpose(wp + i * C * C, out: C, in: C, store: store)
                project(input, wt, columns: C, into: xp + i * C)
            }
        }
        let workers = Workers.count
        let perWorker = fusedAttentionScratch(length: T, headDim: headDim)
        let fp = fusedScratch.reserve(workers * perWorker)
        let H = heads
        let D = headDim
        let sc = scale
        kept = training ? .fused(level) : .nothing
        let headProbs = Int(lk_attention_probs_size(Int32(T)))
        let pp = training ? probs.reserve(N * H * headProbs) : nil
        parallelFor(N * H, workers: workers) { item, worker in
            let n = item / H
            let h = item % H
            let base = UnsafePointer(xp + n * T * width + h * D)
            if let pp {
                lk_attention_head_train(
                    base + 2 * C, base + C, base, Int32(width), cp + n * T * C + h * D, Int32(C), Int32(T), Int32(D),
                    sc, pp + item * headProbs, fp + worker * perWorker, Int32(level.rawValue))
            } else {
                fusedAttentionHead(
                    q: base + 2 * C, k: base + C, v: base, ctx: cp + n * T * C + h * D, length: T, headDim: D,
                    stride: width, ctxStride: C, scale: sc, scratch: fp + worker * perWorker, level: level)
            }
        }
        fcOut.forwardInference(cp, out, rows: rows, residual: residual, kernels: KernelChoice(.simd, level: level))
    }

    /// Accumulates into dValuesIn/dKeysIn/dQueriesIn (which may alias one another) and the parameter grads.
    public func backward(
        values vin: UnsafePointer<Float>, keys kin: UnsafePointer<Float>, queries qin: UnsafePointer<Float>,
        dOut: UnsafePointer<Float>, dValues: UnsafeMutablePointer<Float>, dKeys: UnsafeMutablePointer<Float>,
        dQueries: UnsafeMutablePointer<Float>, batch N: Int, length T: Int
    ) {
        precondition(kept != .nothing, "SelfAttention.backward needs a training forward pass")
        if case .fused(let level) = kept {
            return backwardFused(
                values: vin, keys: kin, queries: qin, dOut: dOut, dValues: dValues, dKeys: dKeys, dQueries: dQueries,
                batch: N, length: T, level: level)
        }
        let C = embed
        let rows = N * T
        let H = heads
        let D = headDim
        let sc = scale
        let dcp = contextGradient(dOut, rows: rows)
        let dvp = dv.reserve(rows * C)
        let dkp = dk.reserve(rows * C)
        let dqp = dq.reserve(rows * C)
        let workers = Workers.count
        let dsp = dscores.reserve(workers * T * T)
        let vp = v.pointer
        let kp = k.pointer
        let qp = q.pointer
        let pp = probs.pointer
        do {
            parallelFor(N * H, workers: workers) { item, worker in
                let n = item / H
                let h = item % H
                let P = UnsafePointer(pp + item * T * T)
                let dS = dsp + worker * T * T
                let off = n * T * C + h * D
                let dctxh = UnsafePointer(dcp + off)
                // dP = dctx_h · V_hᵀ ; dV_h = Pᵀ · dctx_h
                sgemm(transB: true, m: T, n: T, k: D, a: dctxh, lda: C, b: vp + off, ldb: C, beta: 0, c: dS)
                sgemm(transA: true, m: T, n: D, k: T, a: P, b: dctxh, ldb: C, beta: 0, c: dvp + off, ldc: C)
                // softmax backward: dS = P ⊙ (dP − Σ_j dP·P), times the score scale
                for i in 0..<T { softmaxBackwardRow(P + i * T, dS + i * T, cols: T, scale: sc) }
                // dQ_h = dS · K_h ; dK_h = dSᵀ · Q_h
                sgemm(m: T, n: D, k: T, a: dS, b: kp + off, ldb: C, beta: 0, c: dqp + off, ldc: C)
                sgemm(transA: true, m: T, n: D, k: T, a: dS, b: qp + off, ldb: C, beta: 0, c: dkp + off, ldc: C)
            }
        }
        values.backward(vin, dvp, dValues, rows: rows)
        keys.backward(kin, dkp, dKeys, rows: rows)
        queries.backward(qin, dqp, dQueries, rows: rows)
    }

    /// `fc_out`'s backward from the block's output gradient: its parameter gradients, and ∂loss/∂ctx (rows×C) in
    /// `dctx`, which both backward paths continue from.
    func contextGradient(_ dOut: UnsafePointer<Float>, rows: Int) -> UnsafeMutablePointer<Float> {
        let dcp = dctx.reserve(rows * embed)
        dcp.update(repeating: 0, count: rows * embed)
        fcOut.backward(ctx.pointer, dOut, dcp, rows: rows)
        return dcp
    }

    /// The backward pass after a fused training forward: `fc_out`'s, `lk_attention_head_backward` per head from the
    /// kept probabilities and the stacked projections (writing dV | dK | dQ side by side in rows of 3C), then the
    /// projections': in one product each for the weight gradient and the input gradient over the projections that
    /// share an input and an input gradient (all three in a block's first attention and the encoder's, V and K in the
    /// decoder's transformer block), else one by one.
    func backwardFused(
        values vin: UnsafePointer<Float>, keys kin: UnsafePointer<Float>, queries qin: UnsafePointer<Float>,
        dOut: UnsafePointer<Float>, dValues: UnsafeMutablePointer<Float>, dKeys: UnsafeMutablePointer<Float>,
        dQueries: UnsafeMutablePointer<Float>, batch N: Int, length T: Int, level: KernelLevel
    ) {
        let C = embed
        let rows = N * T
        let width = 3 * C
        let H = heads
        let D = headDim
        let sc = scale
        let dcp = contextGradient(dOut, rows: rows)
        let gp = dqkv.reserve(rows * width)
        let workers = Workers.count
        let perWorker = Int(lk_attention_backward_scratch(Int32(T), Int32(D)))
        let sp = dscores.reserve(workers * perWorker)
        let headProbs = Int(lk_attention_probs_size(Int32(T)))
        let xp = UnsafePointer(qkv.pointer)
        let pp = UnsafePointer(probs.pointer)
        parallelFor(N * H, workers: workers) { item, worker in
            let n = item / H
            let h = item % H
            let base = xp + n * T * width + h * D
            let g = gp + n * T * width + h * D
            lk_attention_head_backward(
                base + 2 * C, base + C, base, Int32(width), pp + item * headProbs, dcp + n * T * C + h * D, Int32(C),
                g + 2 * C, g + C, g, Int32(width), Int32(T), Int32(D), sc, sp + worker * perWorker,
                Int32(level.rawValue))
        }
        // The store declares V, K, Q one after another, so their weights (and gradients) are one block [Wv; Wk; Wq].
        let v0 = values.weight.offset
        let contiguous = keys.weight.offset == v0 + C * C && queries.weight.offset == v0 + 2 * C * C
        let store = values.store
        func stacked(_ count: Int, input: UnsafePointer<Float>, dInput: UnsafeMutablePointer<Float>) {
            sgemm(
                transA: true, m: count * C, n: C, k: rows, a: gp, lda: width, b: input, beta: 1,
                c: store.grad(values.weight))
            sgemm(m: rows, n: C, k: count * C, a: gp, lda: width, b: store.value(values.weight), beta: 1, c: dInput)
        }
        if contiguous && vin == kin && kin == qin && dValues == dKeys && dKeys == dQueries {
            stacked(3, input: vin, dInput: dValues)
        } else if contiguous && vin == kin && dValues == dKeys {
            stacked(2, input: vin, dInput: dValues)
            queries.backward(qin, gp + 2 * C, dQueries, rows: rows, dyStride: width)
        } else {
            values.backward(vin, gp, dValues, rows: rows, dyStride: width)
            keys.backward(kin, gp + C, dKeys, rows: rows, dyStride: width)
            queries.backward(qin, gp + 2 * C, dQueries, rows: rows, dyStride: width)
        }
    }
}
