import Foundation

/// im2col for a 1-D convolution over time, channels last: col[n, t, c·K + k] = x[n, t·stride + k − pad, c].
@inline(__always)
func im2col1d(
    _ x: UnsafePointer<Float>, _ col: UnsafeMutablePointer<Float>, batch: Int, length: Int,
    channels: Int, kernel: Int, stride: Int, pad: Int, outLength: Int
) {
    let width = channels * kernel
    for n in 0..<batch {
        let xn = x + n * length * channels
        for t in 0..<outLength {
            let row = col + (n * outLength + t) * width
            for k in 0..<kernel {
                let src = t * stride + k - pad
                if src < 0 || src >= length {
                    for c in 0..<channels { row[c * kernel + k] = 0 }
                } else {
                    let xs = xn + src * channels
                    for c in 0..<channels { row[c * kernel + k] = xs[c] }
                }
            }
        }
    }
}

/// The adjoint of `im2col1d`: dx[n, t·stride + k − pad, c] += dcol[n, t, c·K + k].
@inline(__always)
func col2im1d(
    _ dcol: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, batch: Int, length: Int,
    channels: Int, kernel: Int, stride: Int, pad: Int, outLength: Int
) {
    let width = channels * kernel
    for n in 0..<batch {
        let dxn = dx + n * length * channels
        for t in 0..<outLength {
            let row = dcol + (n * outLength + t) * width
            for k in 0..<kernel {
                let dst = t * stride + k - pad
                if dst < 0 || dst >= length { continue }
                let xd = dxn + dst * channels
                for c in 0..<channels { xd[c] += row[c * kernel + k] }
            }
        }
    }
}

/// 1-D convolution over time (PyTorch `nn.Conv1d`, weight [out, in, K]) on channels-last sequences,
/// computed as im2col followed by one GEMM over the whole batch.
public final class Conv1d {
    public let inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int
    public let weight: ParameterRef, bias: ParameterRef
    unowned let store: ParameterStore
    let col = FloatBuffer()
    /// The input whose windows `col` holds (set by `forward`, used once by `backward`, which like every layer's reads
    /// the input the forward pass saw).
    var colInput: (x: UnsafePointer<Float>, batch: Int, length: Int)?
    let dcol = FloatBuffer()
    let padded = FloatBuffer()
    let tapMajor = DerivedWeights()

    public init(
        _ store: ParameterStore, _ name: String, _ inChannels: Int, _ outChannels: Int,
        kernel: Int, stride: Int = 1, padding: Int = 0
    ) {
        self.store = store
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        let fanIn = inChannels * kernel
        weight = store.declare(name + ".weight", [outChannels, inChannels, kernel], .uniformFanIn(fanIn))
        bias = store.declare(name + ".bias", [outChannels], .uniformFanIn(fanIn))
    }

    /// A second instance of `other` for another thread: the same parameters, its own buffers.
    public init(sharing other: Conv1d) {
        store = other.store
        (inChannels, outChannels, kernel) = (other.inChannels, other.outChannels, other.kernel)
        (stride, padding) = (other.stride, other.padding)
        (weight, bias) = (other.weight, other.bias)
    }

    public func outLength(_ length: Int) -> Int { (length + 2 * padding - kernel) / stride + 1 }
    public func flops(length: Int) -> Int { 2 * outLength(length) * outChannels * inChannels * kernel }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, length: Int) {
        let lo = outLength(length)
        let rows = batch * lo
        let width = inChannels * kernel
        let c = col.reserve(rows * width)
        im2col1d(
            x, c, batch: batch, length: length, channels: inChannels, kernel: kernel,
            stride: stride, pad: padding, outLength: lo)
        let bp = store.value(bias)
        for r in 0..<rows { (y + r * outChannels).update(from: bp, count: outChannels) }
        sgemm(transB: true, m: rows, n: outChannels, k: width, a: c, b: store.value(weight), beta: 1, c: y)
        colInput = (x, batch, length)
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

    /// The same convolution by `windowedConvolution` (inference under `InferenceKernels.simd`).
    public func forwardWindows(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, length: Int,
        level: KernelLevel
    ) {
        // Weight [out, in, K] → tap-major [K·in, out].
        let (cin, cout, K) = (inChannels, outChannels, kernel)
        let n = K * cin * cout
        let wt = tapMajor.of(store.value(weight), count: n, store: store, derivedCount: n) { w, wt in
            for o in 0..<cout {
                for c in 0..<cin {
                    for k in 0..<K { wt[(k * cin + c) * cout + o] = w[(o * cin + c) * K + k] }
                }
            }
        }
        windowedConvolution(
            x, batch: batch, length: length, channels: inChannels, padLeft: padding, padRight: padding, stride: stride,
            kernel: kernel, weights: wt, outChannels: outChannels, bias: store.value(bias), y,
            outLength: outLength(length), padded: padded, level: level)
    }

    public func backward(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>?,
        batch: Int, length: Int
    ) {
        let lo = outLength(length)
        let rows = batch * lo
        let width = inChannels * kernel
        let c = col.reserve(rows * width)
        // The forward pass left x's windows in `col` when it read this same input (training always does).
        if colInput.map({ $0.x != x || $0.batch != batch || $0.length != length }) ?? true {
            im2col1d(
                x, c, batch: batch, length: length, channels: inChannels, kernel: kernel,
                stride: stride, pad: padding, outLength: lo)
        }
        colInput = nil
        sgemm(transA: true, m: outChannels, n: width, k: rows, a: dy, b: c, beta: 1, c: store.grad(weight))
        let db = store.grad(bias)
        for r in 0..<rows {
            let row = dy + r * outChannels
            for o in 0..<outChannels { db[o] += row[o] }
        }
        if let dx {
            let dc = dcol.reserve(rows * width)
            sgemm(m: rows, n: width, k: outChannels, a: dy, b: store.value(weight), beta: 0, c: dc)
            col2im1d(
                dc, dx, batch: batch, length: length, channels: inChannels, kernel: kernel,
                stride: stride, pad: padding, outLength: lo)
        }
    }
}
