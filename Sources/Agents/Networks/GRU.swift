import Foundation
import LeonardoSim

/// A gated recurrent unit layer (Cho et al., EMNLP 2014), in PyTorch's `nn.GRU` parameterisation: for input x_t and
/// state h_{t−1},
///
///     r = σ(W_ir x + b_ir + W_hr h + b_hr),   z = σ(W_iz x + b_iz + W_hz h + b_hz),
///     n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),   h_t = (1 − z) ⊙ n + z ⊙ h_{t−1},
///
/// with the input weights [W_ir; W_iz; W_in] one `Linear` (in → 3H) and the state weights one `Linear` (H → 3H).
/// `forward` runs B sequences of L steps in lock-step (time-major rows: row t·B + b is sequence b at step t) and keeps
/// what `backward` (back-propagation through time) reads; the products go through `cblas_sgemm`.
public final class GRU {
    public let inputSize: Int, hiddenSize: Int
    public let input: Linear, state: Linear
    // Kept by forward, (L·B) rows each: the input's gate pre-activations, the state before each step, r, z, n and the
    // state part of n's pre-activation (W_hn h + b_hn).
    var gi: [Float] = [], hPrev: [Float] = [], r: [Float] = [], z: [Float] = [], n: [Float] = [], ghn: [Float] = []
    var x: [Float] = []
    var steps = 0, batch = 0

    /// Declares the layer's parameters in `store` as `name.input.*` and `name.state.*`.
    public init(_ store: ParameterStore, _ name: String, inputSize: Int, hiddenSize: Int) {
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        input = Linear(store, name + ".input", inputSize, 3 * hiddenSize)
        state = Linear(store, name + ".state", hiddenSize, 3 * hiddenSize)
    }

    @inline(__always) static func sigmoid(_ v: Float) -> Float { 1 / (1 + expf(-v)) }

    /// Runs B sequences of L steps from the states `h0` (B×H); `xs` holds (L·B)×inputSize time-major rows. Returns
    /// the states after every step, (L·B)×H time-major.
    public func forward(_ xs: [Float], h0: [Float], steps L: Int, batch B: Int) -> [Float] {
        let H = hiddenSize
        precondition(xs.count == L * B * inputSize && h0.count == B * H, "GRU.forward: wrong sizes")
        steps = L
        batch = B
        x = xs
        gi = [Float](repeating: 0, count: L * B * 3 * H)
        x.withUnsafeBufferPointer { xp in
            gi.withUnsafeMutableBufferPointer { input.forward(xp.baseAddress!, $0.baseAddress!, rows: L * B) }
        }
        hPrev = [Float](repeating: 0, count: L * B * H)
        r = hPrev
        z = hPrev
        n = hPrev
        ghn = hPrev
        var out = [Float](repeating: 0, count: L * B * H)
        var gh = [Float](repeating: 0, count: B * 3 * H)  // one step's state pre-activations
        var h = h0
        for t in 0..<L {
            h.withUnsafeBufferPointer { hp in
                gh.withUnsafeMutableBufferPointer { state.forward(hp.baseAddress!, $0.baseAddress!, rows: B) }
            }
            for b in 0..<B {
                let row = t * B + b
                for j in 0..<H {
                    let g = row * 3 * H
                    let s = b * 3 * H
                    let k = row * H + j
                    let rj = GRU.sigmoid(gi[g + j] + gh[s + j])
                    let zj = GRU.sigmoid(gi[g + H + j] + gh[s + H + j])
                    let hn = gh[s + 2 * H + j]
                    let nj = tanhf(gi[g + 2 * H + j] + rj * hn)
                    hPrev[k] = h[b * H + j]
                    r[k] = rj
                    z[k] = zj
                    n[k] = nj
                    ghn[k] = hn
                    out[k] = (1 - zj) * nj + zj * h[b * H + j]
                }
            }
            for b in 0..<B { for j in 0..<H { h[b * H + j] = out[(t * B + b) * H + j] } }
        }
        return out
    }

    /// Back-propagation through the last `forward`: `dOut` is ∂loss/∂h_t for every step, (L·B)×H time-major. Adds
    /// the parameter gradients into the store; the gradient with respect to h0 and the inputs is not needed by the
    /// agents and is not formed.
    public func backward(_ dOut: [Float]) {
        let (L, B, H) = (steps, batch, hiddenSize)
        precondition(dOut.count == L * B * H, "GRU.backward: wrong size")
        var dgi = [Float](repeating: 0, count: L * B * 3 * H)
        var dgh = [Float](repeating: 0, count: B * 3 * H)
        var dh = [Float](repeating: 0, count: B * H)  // from later steps
        var dhPrev = [Float](repeating: 0, count: B * H)
        for t in stride(from: L - 1, through: 0, by: -1) {
            for b in 0..<B {
                let row = t * B + b
                for j in 0..<H {
                    let k = row * H + j
                    let g = dOut[k] + dh[b * H + j]
                    let (rj, zj, nj, hp) = (r[k], z[k], n[k], hPrev[k])
                    let dn = g * (1 - zj) * (1 - nj * nj)
                    let dz = g * (hp - nj) * zj * (1 - zj)
                    let dr = dn * ghn[k] * rj * (1 - rj)
                    let gr = row * 3 * H
                    dgi[gr + j] = dr
                    dgi[gr + H + j] = dz
                    dgi[gr + 2 * H + j] = dn
                    let s = b * 3 * H
                    dgh[s + j] = dr
                    dgh[s + H + j] = dz
                    dgh[s + 2 * H + j] = dn * rj
                    dhPrev[b * H + j] = g * zj
                }
            }
            // The state product of step t: its weight gradient, and ∂/∂h_{t−1} added to the direct path.
            let hStart = t * B * H
            hPrev.withUnsafeBufferPointer { hp in
                dgh.withUnsafeBufferPointer { dp in
                    dhPrev.withUnsafeMutableBufferPointer {
                        state.backward(hp.baseAddress! + hStart, dp.baseAddress!, $0.baseAddress!, rows: B)
                    }
                }
            }
            dh = dhPrev
        }
        x.withUnsafeBufferPointer { xp in
            dgi.withUnsafeBufferPointer { input.backward(xp.baseAddress!, $0.baseAddress!, nil, rows: L * B) }
        }
    }
}
