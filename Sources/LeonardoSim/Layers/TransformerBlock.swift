import Foundation

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

    /// A second instance of `other` for another thread: the same parameters, its own buffers.
    public init(sharing other: TransformerBlock) {
        (embed, hidden) = (other.embed, other.hidden)
        attention = SelfAttention(sharing: other.attention)
        norm1 = LayerNorm(sharing: other.norm1)
        norm2 = LayerNorm(sharing: other.norm2)
        ff0 = Linear(sharing: other.ff0)
        ff2 = Linear(sharing: other.ff2)
    }

    public func flops(length T: Int) -> Int { attention.flops(length: T) + T * (ff0.flopsPerRow + ff2.flopsPerRow) }

    /// The block's one sequence, in `mode` (each layer runs its training or inference forward).
    public func forward(
        values: UnsafePointer<Float>, keys: UnsafePointer<Float>, queries: UnsafePointer<Float>,
        out: UnsafeMutablePointer<Float>, batch N: Int, length T: Int, mode: ForwardMode,
        profile: StageProfile? = nil
    ) {
        let rows = N * T
        let C = embed
        let ap = a.reserve(rows * C)
        let xp = x.reserve(rows * C)
        let hp = h.reserve(rows * hidden)
        let fp = f.reserve(rows * C)
        stage(profile, "attention (transformer block)", flops: attention.flops(length: T) * N) {
            attention.forward(
                values: values, keys: keys, queries: queries, out: ap, batch: N, length: T, mode: mode,
                residual: queries)
        }
        stage(profile, "layer norm") { norm1.forward(ap, xp, rows: rows, mode: mode) }
        stage(profile, "feed-forward", flops: rows * (ff0.flopsPerRow + ff2.flopsPerRow)) {
            ff0.forward(xp, hp, rows: rows, mode: mode, relu: true)
            ff2.forward(hp, fp, rows: rows, mode: mode, residual: xp)
        }
        stage(profile, "layer norm") { norm2.forward(fp, out, rows: rows, mode: mode) }
    }

    public func backward(
        values: UnsafePointer<Float>, keys: UnsafePointer<Float>, queries: UnsafePointer<Float>,
        dOut: UnsafePointer<Float>, dValues: UnsafeMutablePointer<Float>, dKeys: UnsafeMutablePointer<Float>,
        dQueries: UnsafeMutablePointer<Float>, batch N: Int, length T: Int
    ) {
        let rows = N * T
        let C = embed
        let dfp = df.reserve(rows * C)
        let dhp = dh.reserve(rows * hidden)
        let dxp = dx.reserve(rows * C)
        let dap = da.reserve(rows * C)
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
        attention.backward(
            values: values, keys: keys, queries: queries, dOut: dap, dValues: dValues, dKeys: dKeys,
            dQueries: dQueries, batch: N, length: T)
    }
}
