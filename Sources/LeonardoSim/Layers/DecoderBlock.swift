import Foundation

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
        block = TransformerBlock(
            store, name + ".transformer_block", embed: embed, heads: heads, forwardExpansion: forwardExpansion)
    }

    /// A second instance of `other` for another thread: the same parameters, its own buffers.
    public init(sharing other: DecoderBlock) {
        embed = other.embed
        attention = SelfAttention(sharing: other.attention)
        norm = LayerNorm(sharing: other.norm)
        block = TransformerBlock(sharing: other.block)
    }

    public func flops(length T: Int) -> Int { attention.flops(length: T) + block.flops(length: T) }

    /// The block in `mode`; `profile`, when given, times each stage.
    public func forward(
        _ input: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, batch N: Int, length T: Int,
        mode: ForwardMode, profile: StageProfile? = nil
    ) {
        let rows = N * T
        let C = embed
        let ap = a.reserve(rows * C)
        let qp = q.reserve(rows * C)
        stage(profile, "attention (block input)", flops: attention.flops(length: T) * N) {
            attention.forward(
                values: input, keys: input, queries: input, out: ap, batch: N, length: T, mode: mode, residual: input)
        }
        stage(profile, "layer norm") { norm.forward(ap, qp, rows: rows, mode: mode) }
        block.forward(
            values: input, keys: input, queries: qp, out: out, batch: N, length: T, mode: mode, profile: profile)
    }

    /// Accumulates the gradient with respect to `input` into dInput.
    public func backward(
        _ input: UnsafePointer<Float>, dOut: UnsafePointer<Float>, dInput: UnsafeMutablePointer<Float>,
        batch N: Int, length T: Int
    ) {
        let rows = N * T
        let C = embed
        let dqp = dq.reserve(rows * C)
        let dap = da.reserve(rows * C)
        dqp.update(repeating: 0, count: rows * C)
        block.backward(
            values: input, keys: input, queries: q.pointer, dOut: dOut, dValues: dInput, dKeys: dInput,
            dQueries: dqp, batch: N, length: T)
        dap.update(repeating: 0, count: rows * C)
        norm.backward(a.pointer, dqp, dap, rows: rows)
        for i in 0..<rows * C { dInput[i] += dap[i] }
        attention.backward(
            values: input, keys: input, queries: input, dOut: dap, dValues: dInput, dKeys: dInput,
            dQueries: dInput, batch: N, length: T)
    }
}
