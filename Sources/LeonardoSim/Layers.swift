import Foundation

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

    public init(_ store: ParameterStore, _ name: String, _ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) {
        self.store = store
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        weight = store.declare(name + ".weight", [outFeatures, inFeatures], .uniformFanIn(inFeatures))
        self.bias = bias ? store.declare(name + ".bias", [outFeatures], .uniformFanIn(inFeatures)) : nil
    }

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

    /// Accumulates dW, db and (if `dx` is given) dx from dy.
    public func backward(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>?, rows: Int) {
        sgemm(transA: true, m: outFeatures, n: inFeatures, k: rows, a: dy, b: x, beta: 1, c: store.grad(weight))
        if let b = bias {
            let db = store.grad(b)
            for r in 0..<rows {
                let row = dy + r * outFeatures
                for o in 0..<outFeatures { db[o] += row[o] }
            }
        }
        if let dx {
            sgemm(m: rows, n: inFeatures, k: outFeatures, a: dy, b: store.value(weight), beta: 1, c: dx)
        }
    }
}

/// im2col for a 1-D convolution over time, channels last: col[n, t, c·K + k] = x[n, t·stride + k − pad, c].
@inline(__always)
func im2col1d(_ x: UnsafePointer<Float>, _ col: UnsafeMutablePointer<Float>, batch: Int, length: Int,
              channels: Int, kernel: Int, stride: Int, pad: Int, outLength: Int) {
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
func col2im1d(_ dcol: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, batch: Int, length: Int,
              channels: Int, kernel: Int, stride: Int, pad: Int, outLength: Int) {
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
    let dcol = FloatBuffer()

    public init(_ store: ParameterStore, _ name: String, _ inChannels: Int, _ outChannels: Int,
                kernel: Int, stride: Int = 1, padding: Int = 0) {
        self.store = store
        self.inChannels = inChannels; self.outChannels = outChannels
        self.kernel = kernel; self.stride = stride; self.padding = padding
        let fanIn = inChannels * kernel
        weight = store.declare(name + ".weight", [outChannels, inChannels, kernel], .uniformFanIn(fanIn))
        bias = store.declare(name + ".bias", [outChannels], .uniformFanIn(fanIn))
    }

    public func outLength(_ length: Int) -> Int { (length + 2 * padding - kernel) / stride + 1 }
    public func flops(length: Int) -> Int { 2 * outLength(length) * outChannels * inChannels * kernel }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, length: Int) {
        let lo = outLength(length), rows = batch * lo, width = inChannels * kernel
        let c = col.reserve(rows * width)
        im2col1d(x, c, batch: batch, length: length, channels: inChannels, kernel: kernel,
                 stride: stride, pad: padding, outLength: lo)
        let bp = store.value(bias)
        for r in 0..<rows { (y + r * outChannels).update(from: bp, count: outChannels) }
        sgemm(transB: true, m: rows, n: outChannels, k: width, a: c, b: store.value(weight), beta: 1, c: y)
    }

    public func backward(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>?,
                         batch: Int, length: Int) {
        let lo = outLength(length), rows = batch * lo, width = inChannels * kernel
        let c = col.reserve(rows * width)
        im2col1d(x, c, batch: batch, length: length, channels: inChannels, kernel: kernel,
                 stride: stride, pad: padding, outLength: lo)
        sgemm(transA: true, m: outChannels, n: width, k: rows, a: dy, b: c, beta: 1, c: store.grad(weight))
        let db = store.grad(bias)
        for r in 0..<rows {
            let row = dy + r * outChannels
            for o in 0..<outChannels { db[o] += row[o] }
        }
        if let dx {
            let dc = dcol.reserve(rows * width)
            sgemm(m: rows, n: width, k: outChannels, a: dy, b: store.value(weight), beta: 0, c: dc)
            col2im1d(dc, dx, batch: batch, length: length, channels: inChannels, kernel: kernel,
                     stride: stride, pad: padding, outLength: lo)
        }
    }
}

/// Transposed 1-D convolution, stride 1 (PyTorch `nn.ConvTranspose1d`, weight [in, out, K]):
/// y[s, o] = b[o] + Σ_{c,k} x[s + pad − k, c]·W[c, o, k]. Computed as one GEMM Z = x·W (W viewed as
/// in × (out·K)) followed by a col2im-style gather; the backward pass is the mirror image.
public final class ConvTranspose1d {
    public let inChannels: Int, outChannels: Int, kernel: Int, padding: Int
    public let weight: ParameterRef, bias: ParameterRef
    unowned let store: ParameterStore
    let z = FloatBuffer(), wPerm = FloatBuffer()
    let dz = FloatBuffer()

    public init(_ store: ParameterStore, _ name: String, _ inChannels: Int, _ outChannels: Int,
                kernel: Int, padding: Int) {
        self.store = store
        self.inChannels = inChannels; self.outChannels = outChannels
        self.kernel = kernel; self.padding = padding
        // PyTorch computes fan-in of a transposed conv weight [in, out, K] from dim 1: out·K.
        let fanIn = outChannels * kernel
        weight = store.declare(name + ".weight", [inChannels, outChannels, kernel], .uniformFanIn(fanIn))
        bias = store.declare(name + ".bias", [outChannels], .uniformFanIn(fanIn))
    }

    public func outLength(_ length: Int) -> Int { length - 1 - 2 * padding + kernel }
    public func flops(length: Int) -> Int { 2 * length * inChannels * outChannels * kernel }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, length: Int) {
        let width = outChannels * kernel, lo = outLength(length), O = outChannels, K = kernel
        // The weight re-ordered [in, k, out] (cheap: in·out·k values) so that each tap's outputs are contiguous.
        let w = store.value(weight), wp = wPerm.reserve(inChannels * width)
        for i in 0..<inChannels {
            for o in 0..<O { for k in 0..<K { wp[(i * K + k) * O + o] = w[(i * O + o) * K + k] } }
        }
        let zp = z.reserve(batch * length * width)
        sgemm(m: batch * length, n: width, k: inChannels, a: x, b: wp, beta: 0, c: zp)
        let bp = store.value(bias), pad = padding
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

    public func backward(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>?,
                         batch: Int, length: Int) {
        let width = outChannels * kernel, lo = outLength(length)
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
            sgemm(transB: true, m: batch * length, n: inChannels, k: width, a: dzp, b: store.value(weight),
                  beta: 1, c: dx)
        }
    }
}

/// Layer normalisation over the last dimension (PyTorch `nn.LayerNorm`, ε = 1e-5 by default).
public final class LayerNorm {
    public let features: Int
    public let eps: Float
    public let weight: ParameterRef, bias: ParameterRef
    unowned let store: ParameterStore
    let mean = FloatBuffer(), rstd = FloatBuffer()

    public init(_ store: ParameterStore, _ name: String, _ features: Int, eps: Float = 1e-5) {
        self.store = store
        self.features = features
        self.eps = eps
        weight = store.declare(name + ".weight", [features], .constant(1))
        bias = store.declare(name + ".bias", [features], .constant(0))
    }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int) {
        let C = features
        let mp = mean.reserve(rows), rp = rstd.reserve(rows)
        let g = store.value(weight), b = store.value(bias), eps = eps
        // Rows are independent: split over the workers when there are enough (same result either way).
        parallelFor(rows, workers: rows >= 256 ? Workers.count : 1) { r, _ in
            let xr = x + r * C, yr = y + r * C
            var m: Float = 0
            for i in 0..<C { m += xr[i] }
            m /= Float(C)
            var v: Float = 0
            for i in 0..<C { let d = xr[i] - m; v += d * d }
            v /= Float(C)
            let s = 1 / (v + eps).squareRoot()
            for i in 0..<C { yr[i] = (xr[i] - m) * s * g[i] + b[i] }
            mp[r] = m; rp[r] = s
        }
    }

    public func backward(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, rows: Int) {
        let C = features
        let mp = mean.pointer, rp = rstd.pointer
        let g = store.value(weight), dg = store.grad(weight), db = store.grad(bias)
        for r in 0..<rows {
            let xr = x + r * C, dyr = dy + r * C, dxr = dx + r * C
            let m = mp[r], s = rp[r]
            var meanD: Float = 0, meanDX: Float = 0
            for i in 0..<C {
                let xh = (xr[i] - m) * s
                let dn = dyr[i] * g[i]
                meanD += dn
                meanDX += dn * xh
                dg[i] += dyr[i] * xh
                db[i] += dyr[i]
            }
            meanD /= Float(C); meanDX /= Float(C)
            for i in 0..<C {
                let xh = (xr[i] - m) * s
                dxr[i] += s * (dyr[i] * g[i] - meanD - xh * meanDX)
            }
        }
    }
}

/// In-place ReLU and its backward pass (uses the layer's output: y > 0 ⇔ x > 0).
@inline(__always)
public func reluForward(_ x: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count where x[i] < 0 { x[i] = 0 }
}

@inline(__always)
public func reluBackward(_ y: UnsafePointer<Float>, _ dy: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count where y[i] <= 0 { dy[i] = 0 }
}

/// out[n, b, a] = x[n, a, b] for a batch of A×B matrices (switches channel-major and time-major layouts).
@inline(__always)
public func transposeBatch(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, batch: Int, rows a: Int, cols b: Int) {
    for n in 0..<batch {
        let xn = x + n * a * b, on = out + n * a * b
        for i in 0..<a { for j in 0..<b { on[j * a + i] = xn[i * b + j] } }
    }
}

/// out[n, a, b] += x[n, b, a]: the adjoint of `transposeBatch`, accumulating.
@inline(__always)
public func transposeBatchAdd(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, batch: Int, rows a: Int, cols b: Int) {
    for n in 0..<batch {
        let xn = x + n * a * b, on = out + n * a * b
        for i in 0..<a { for j in 0..<b { on[i * b + j] += xn[j * a + i] } }
    }
}
