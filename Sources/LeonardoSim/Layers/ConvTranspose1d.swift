import Foundation

/// Transposed 1-D convolution, stride 1 (PyTorch `nn.ConvTranspose1d`, weight [in, out, K]):
/// y[s, o] = b[o] + Σ_{c,k} x[s + pad − k, c]·W[c, o, k]. Computed as one GEMM Z = x·W (W viewed as
/// in × (out·K)) followed by a col2im-style gather; the backward pass is the mirror image.
public final class ConvTranspose1d {
    public let inChannels: Int, outChannels: Int, kernel: Int, padding: Int
    public let weight: ParameterRef, bias: ParameterRef
    unowned let store: ParameterStore
    let z = FloatBuffer(), wPerm = FloatBuffer()
    let padded = FloatBuffer()
    let tapMajor = DerivedWeights()
    let dz = FloatBuffer()

    public init(
        _ store: ParameterStore, _ name: String, _ inChannels: Int, _ outChannels: Int,
        kernel: Int, padding: Int
    ) {
        self.store = store
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.padding = padding
        // PyTorch computes fan-in of a transposed conv weight [in, out, K] from dim 1: out·K.
        let fanIn = outChannels * kernel
        weight = store.declare(name + ".weight", [inChannels, outChannels, kernel], .uniformFanIn(fanIn))
        bias = store.declare(name + ".bias", [outChannels], .uniformFanIn(fanIn))
    }

    /// A second instance of `other` for another thread: the same parameters, its own buffers.
    public init(sharing other: ConvTranspose1d) {
        store = other.store
        (inChannels, outChannels, kernel, padding) = (other.inChannels, other.outChannels, other.kernel, other.padding)
        (weight, bias) = (other.weight, other.bias)
    }

    public func outLength(_ length: Int) -> Int { length - 1 - 2 * padding + kernel }
    public func flops(length: Int) -> Int { 2 * length * inChannels * outChannels * kernel }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, length: Int) {
        let width = outChannels * kernel
        let lo = outLength(length)
        let O = outChannels
        let K = kernel
        // The weight re-ordered [in, k, out] (cheap: in·out·k values) so that each tap's outputs are contiguous.
        let w = store.value(weight)
        let wp = wPerm.reserve(inChannels * width)
        for i in 0..<inChannels {
            for o in 0..<O { for k in 0..<K { wp[(i * K + k) * O + o] = w[(i * O + o) * K + k] } }
        }
        let zp = z.reserve(batch * length * width)
        sgemm(m: batch * length, n: width, k: inChannels, a: x, b: wp, beta: 0, c: zp)
        let bp = store.value(bias)
        let pad = padding
        parallelFor(batch) { n, _ in
            let zn = zp + n * length * width
            for s in 0..<lo {
                let yr = y + (n * lo + s) * O
                yr.update(from: bp, count: O)
                for k in 0..<K {
                    let t = s + pad - k
                    if t < 0 || t >= length { continue }
                    let zr = zn + t * width + k * O
                    for o in 0..<O { yr[o] += zr[o] }
                }
            }
        }
    }

    /// The product in `mode`: `forward` for training and under `InferenceKernels.blas`, `forwardWindows` under
    /// `InferenceKernels.simd`.
    public func forward(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, length: Int, mode: ForwardMode
    ) {
        if let level = mode.simdLevel {
            forwardWindows(x, y, batch: batch, length: length, level: level)
        } else {
            forward(x, y, batch: batch, length: length)
        }
    }

    /// The same product by `windowedConvolution` (inference under `InferenceKernels.simd`): output row s reads
    /// input rows s + pad − K + 1 … s + pad, so the input is padded by K − 1 − pad rows on both sides and tap p of a
    /// window carries weight tap K − 1 − p.
    public func forwardWindows(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, length: Int,
        level: KernelLevel
    ) {
        precondition(padding <= kernel - 1, "ConvTranspose1d.forwardWindows needs padding < kernel")
        let (cin, O, K) = (inChannels, outChannels, kernel)
        let n = K * cin * O
        let wt = tapMajor.of(store.value(weight), count: n, store: store, derivedCount: n) { w, wt in
            for p in 0..<K {
                for c in 0..<cin {
                    for o in 0..<O { wt[(p * cin + c) * O + o] = w[(c * O + o) * K + (K - 1 - p)] }
                }
            }
        }
        let side = K - 1 - padding
        windowedConvolution(
            x, batch: batch, length: length, channels: inChannels, padLeft: side, padRight: side, stride: 1,
            kernel: K, weights: wt, outChannels: O, bias: store.value(bias), y, outLength: outLength(length),
            padded: padded, level: level)
    }

    public func backward(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>?,
        batch: Int, length: Int
    ) {
        let width = outChannels * kernel
        let lo = outLength(length)
        let dzp = dz.reserve(batch * length * width)
        let db = store.grad(bias)
        for n in 0..<batch {
            for t in 0..<length {
                let dzr = dzp + (n * length + t) * width
                for k in 0..<kernel {
                    let s = t - padding + k
                    if s < 0 || s >= lo {
                        for o in 0..<outChannels { dzr[o * kernel + k] = 0 }
                    } else {
                        let dyr = dy + (n * lo + s) * outChannels
                        for o in 0..<outChannels { dzr[o * kernel + k] = dyr[o] }
                    }
                }
            }
            for s in 0..<lo {
                let dyr = dy + (n * lo + s) * outChannels
                for o in 0..<outChannels { db[o] += dyr[o] }
            }
        }
        sgemm(transA: true, m: inChannels, n: width, k: batch * length, a: x, b: dzp, beta: 1, c: store.grad(weight))
        if let dx {
            sgemm(
                transB: true, m: batch * length, n: inChannels, k: width, a: dzp, b: store.value(weight),
                beta: 1, c: dx)
        }
    }
}
