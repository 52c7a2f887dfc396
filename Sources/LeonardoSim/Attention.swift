import Foundation

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
    let probs = FloatBuffer()          // training: N·H·T·T; inference: one T·T block per worker
    let dv = FloatBuffer(), dk = FloatBuffer(), dq = FloatBuffer(), dctx = FloatBuffer()
    let dscores = FloatBuffer()        // one T·T block per worker
    let rowSums = FloatBuffer()        // inference: one row of T softmax sums per worker
    var cachedProbs = false

    public init(_ store: ParameterStore, _ name: String, embed: Int, heads: Int) {
        precondition(embed % heads == 0, "embed size \(embed) must be divisible by heads \(heads)")
        self.embed = embed; self.heads = heads; headDim = embed / heads
        values = Linear(store, name + ".values", embed, embed, bias: false)
        keys = Linear(store, name + ".keys", embed, embed, bias: false)
        queries = Linear(store, name + ".queries", embed, embed, bias: false)
        fcOut = Linear(store, name + ".fc_out", embed, embed)
        scale = 1 / Float(embed).squareRoot()
    }

    public func flops(length T: Int) -> Int {
        4 * T * embed * embed * 2 + 2 * 2 * heads * T * T * headDim
    }

    /// out = A(valuesIn, keysIn, queriesIn); each input is (N·T)×C. With `training`, the softmax
    /// probabilities of every head are kept for the backward pass.
    public func forward(values vin: UnsafePointer<Float>, keys kin: UnsafePointer<Float>, queries qin: UnsafePointer<Float>,
                        out: UnsafeMutablePointer<Float>, batch N: Int, length T: Int, training: Bool) {
        let C = embed, rows = N * T
        let vp = v.reserve(rows * C), kp = k.reserve(rows * C), qp = q.reserve(rows * C), cp = ctx.reserve(rows * C)
        values.forward(vin, vp, rows: rows)
        keys.forward(kin, kp, rows: rows)
        queries.forward(qin, qp, rows: rows)
        let workers = Workers.count
        let pp = probs.reserve(training ? N * heads * T * T : workers * T * T)
        let sp = rowSums.reserve(workers * T)
        cachedProbs = training
        let H = heads, D = headDim, sc = scale
        do {
            parallelFor(N * H, workers: workers) { item, worker in
                let n = item / H, h = item % H
                let P = training ? pp + item * T * T : pp + worker * T * T
                let qh = UnsafePointer(qp + n * T * C + h * D), kh = UnsafePointer(kp + n * T * C + h * D)
                let vh = UnsafePointer(vp + n * T * C + h * D)
                sgemm(transB: true, m: T, n: T, k: D, alpha: sc, a: qh, lda: C, b: kh, ldb: C, beta: 0, c: P)
                let ch = cp + n * T * C + h * D
                if training {
                    softmaxRows(P, rows: T, cols: T)    // the backward pass needs the normalised probabilities
                    sgemm(m: T, n: D, k: T, a: P, b: vh, ldb: C, beta: 0, c: ch, ldc: C)
                } else {
                    // ctx = diag(1/s)·(exp-scores·V): divide the T×D product instead of the T×T scores.
                    let sums = sp + worker * T
                    for i in 0..<T { sums[i] = 1 / expShiftedRow(P + i * T, cols: T) }
                    sgemm(m: T, n: D, k: T, a: P, b: vh, ldb: C, beta: 0, c: ch, ldc: C)
                    for i in 0..<T { let row = ch + i * C, f = sums[i]; for d in 0..<D { row[d] *= f } }
                }
            }
        }
        fcOut.forward(cp, out, rows: rows)
    }

    /// Accumulates into dValuesIn/dKeysIn/dQueriesIn (which may alias one another) and the parameter grads.
    public func backward(values vin: UnsafePointer<Float>, keys kin: UnsafePointer<Float>, queries qin: UnsafePointer<Float>,
                         dOut: UnsafePointer<Float>, dValues: UnsafeMutablePointer<Float>, dKeys: UnsafeMutablePointer<Float>,
                         dQueries: UnsafeMutablePointer<Float>, batch N: Int, length T: Int) {
        precondition(cachedProbs, "SelfAttention.backward needs a training forward pass")
        let C = embed, rows = N * T, H = heads, D = headDim, sc = scale
        let dcp = dctx.reserve(rows * C)
        dcp.update(repeating: 0, count: rows * C)
        fcOut.backward(ctx.pointer, dOut, dcp, rows: rows)
        let dvp = dv.reserve(rows * C), dkp = dk.reserve(rows * C), dqp = dq.reserve(rows * C)
        let workers = Workers.count
        let dsp = dscores.reserve(workers * T * T)
        let vp = v.pointer, kp = k.pointer, qp = q.pointer, pp = probs.pointer
        do {
            parallelFor(N * H, workers: workers) { item, worker in
                let n = item / H, h = item % H
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
}

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
            p.storeBytes(of: p.loadUnaligned(as: SIMD8<Float>.self) * inv8, as: SIMD8<Float>.self); j += 8
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
        m8.replace(with: v, where: v .> m8)      // not pointwiseMax: its NaN rules compile to scalar code
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
        s8 += e; j += 8
    }
    var s = s8.sum()
    for j in wide..<cols { let e = expNonPositive(SIMD8(repeating: row[j] - m))[0]; row[j] = e; s += e }
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
        acc += UnsafeRawPointer(p + j).loadUnaligned(as: SIMD8<Float>.self) * UnsafeRawPointer(d + j).loadUnaligned(as: SIMD8<Float>.self)
        j += 8
    }
    var dot = acc.sum()
    for j in wide..<cols { dot += p[j] * d[j] }
    let dot8 = SIMD8<Float>(repeating: dot), sc8 = SIMD8<Float>(repeating: scale)
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
    let shifter = SIMD8<Float>(repeating: 12_582_912)           // 1.5·2²³: adding it rounds to an integer
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

/// The released `TransformerBlock(values, keys, queries)`:
/// x = LN1(A(values, keys, queries) + queries); out = LN2(FFN(x) + x), FFN = Linear C→E·C, ReLU, Linear E·C→C.
public final class TransformerBlock {
    public let attention: SelfAttention
    public let norm1: LayerNorm, norm2: LayerNorm
    public let ff0: Linear, ff2: Linear
    let embed: Int, hidden: Int
    let a = FloatBuffer(), x = FloatBuffer(), h = FloatBuffer(), f = FloatBuffer()
    let da = FloatBuffer(), dx = FloatBuffer(), dh = FloatBuffer(), df = FloatBuffer()

    public init(_ store: ParameterStore, _ name: String, embed: Int, heads: Int, forwardExpansion: Int) {
        self.embed = embed
        hidden = forwardExpansion * embed
        attention = SelfAttention(store, name + ".attention", embed: embed, heads: heads)
        norm1 = LayerNorm(store, name + ".norm1", embed)
        norm2 = LayerNorm(store, name + ".norm2", embed)
        ff0 = Linear(store, name + ".feed_forward.0", embed, hidden)
        ff2 = Linear(store, name + ".feed_forward.2", hidden, embed)
    }

    public func flops(length T: Int) -> Int { attention.flops(length: T) + T * (ff0.flopsPerRow + ff2.flopsPerRow) }

    public func forward(values: UnsafePointer<Float>, keys: UnsafePointer<Float>, queries: UnsafePointer<Float>,
                        out: UnsafeMutablePointer<Float>, batch N: Int, length T: Int, training: Bool) {
        let rows = N * T, C = embed
        let ap = a.reserve(rows * C), xp = x.reserve(rows * C), hp = h.reserve(rows * hidden), fp = f.reserve(rows * C)
        attention.forward(values: values, keys: keys, queries: queries, out: ap, batch: N, length: T, training: training)
        for i in 0..<rows * C { ap[i] += queries[i] }
        norm1.forward(ap, xp, rows: rows)
        ff0.forward(xp, hp, rows: rows)
        reluForward(hp, count: rows * hidden)
        ff2.forward(hp, fp, rows: rows)
        for i in 0..<rows * C { fp[i] += xp[i] }
        norm2.forward(fp, out, rows: rows)
    }

    public func backward(values: UnsafePointer<Float>, keys: UnsafePointer<Float>, queries: UnsafePointer<Float>,
                         dOut: UnsafePointer<Float>, dValues: UnsafeMutablePointer<Float>, dKeys: UnsafeMutablePointer<Float>,
                         dQueries: UnsafeMutablePointer<Float>, batch N: Int, length T: Int) {
        let rows = N * T, C = embed
        let dfp = df.reserve(rows * C), dhp = dh.reserve(rows * hidden), dxp = dx.reserve(rows * C), dap = da.reserve(rows * C)
        dfp.update(repeating: 0, count: rows * C)
        norm2.backward(f.pointer, dOut, dfp, rows: rows)
        // f = FFN(x) + x
        dxp.update(from: dfp, count: rows * C)
        dhp.update(repeating: 0, count: rows * hidden)
        ff2.backward(h.pointer, dfp, dhp, rows: rows)
        reluBackward(h.pointer, dhp, count: rows * hidden)
        ff0.backward(x.pointer, dhp, dxp, rows: rows)
        // x = LN1(a + queries)
        dap.update(repeating: 0, count: rows * C)
        norm1.backward(a.pointer, dxp, dap, rows: rows)
        for i in 0..<rows * C { dQueries[i] += dap[i] }
        attention.backward(values: values, keys: keys, queries: queries, dOut: dap, dValues: dValues, dKeys: dKeys,
                           dQueries: dQueries, batch: N, length: T)
    }
}

/// The released `DecoderBlock(x, value, key)`: a = A(x, x, x); q = norm(a + x);
/// out = TransformerBlock(values: value, keys: key, queries: q). LEONARDO calls it with x = value = key = e.
public final class DecoderBlock {
    public let attention: SelfAttention
    public let norm: LayerNorm
    public let block: TransformerBlock
    let embed: Int
    let a = FloatBuffer(), q = FloatBuffer(), dq = FloatBuffer(), da = FloatBuffer()

    public init(_ store: ParameterStore, _ name: String, embed: Int, heads: Int, forwardExpansion: Int) {
        self.embed = embed
        attention = SelfAttention(store, name + ".attention", embed: embed, heads: heads)
        norm = LayerNorm(store, name + ".norm", embed)
        block = TransformerBlock(store, name + ".transformer_block", embed: embed, heads: heads, forwardExpansion: forwardExpansion)
    }

    public func flops(length T: Int) -> Int { attention.flops(length: T) + block.flops(length: T) }

    public func forward(_ input: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, batch N: Int, length T: Int, training: Bool) {
        let rows = N * T, C = embed
        let ap = a.reserve(rows * C), qp = q.reserve(rows * C)
        attention.forward(values: input, keys: input, queries: input, out: ap, batch: N, length: T, training: training)
        for i in 0..<rows * C { ap[i] += input[i] }
        norm.forward(ap, qp, rows: rows)
        block.forward(values: input, keys: input, queries: qp, out: out, batch: N, length: T, training: training)
    }

    /// Accumulates the gradient with respect to `input` into dInput.
    public func backward(_ input: UnsafePointer<Float>, dOut: UnsafePointer<Float>, dInput: UnsafeMutablePointer<Float>,
                         batch N: Int, length T: Int) {
        let rows = N * T, C = embed
        let dqp = dq.reserve(rows * C), dap = da.reserve(rows * C)
        dqp.update(repeating: 0, count: rows * C)
        block.backward(values: input, keys: input, queries: q.pointer, dOut: dOut, dValues: dInput, dKeys: dInput,
                       dQueries: dqp, batch: N, length: T)
        dap.update(repeating: 0, count: rows * C)
        norm.backward(a.pointer, dqp, dap, rows: rows)
        for i in 0..<rows * C { dInput[i] += dap[i] }
        attention.backward(values: input, keys: input, queries: input, dOut: dap, dValues: dInput, dKeys: dInput,
                           dQueries: dInput, batch: N, length: T)
    }
}
