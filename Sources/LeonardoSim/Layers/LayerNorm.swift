import Foundation
import LeonardoKernels

/// Layer normalisation over the last dimension (PyTorch `nn.LayerNorm`, ε = 1e-5 by default).
public final class LayerNorm {
    public let features: Int
    public let eps: Float
    public let weight: ParameterRef, bias: ParameterRef
    unowned let store: ParameterStore
    let mean = FloatBuffer(), rstd = FloatBuffer()
    /// Per-worker partial sums of the parameter gradients (the parallel backward of the fast training path).
    let partials = FloatBuffer()
    /// True when the last training forward ran under `.simd`: its backward then splits rows over the workers.
    var splitBackward = false

    public init(_ store: ParameterStore, _ name: String, _ features: Int, eps: Float = 1e-5) {
        self.store = store
        self.features = features
        self.eps = eps
        weight = store.declare(name + ".weight", [features], .constant(1))
        bias = store.declare(name + ".bias", [features], .constant(0))
    }

    /// A second instance of `other` for another thread: the same parameters, its own buffers.
    public init(sharing other: LayerNorm) {
        store = other.store
        features = other.features
        eps = other.eps
        weight = other.weight
        bias = other.bias
    }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int) {
        let C = features
        let mp = mean.reserve(rows)
        let rp = rstd.reserve(rows)
        let g = store.value(weight)
        let b = store.value(bias)
        let eps = eps
        // Rows are independent: split over the workers when there are enough (same result either way).
        parallelFor(rows, workers: rows >= 256 ? Workers.count : 1) { r, _ in
            let xr = x + r * C
            let yr = y + r * C
            var m: Float = 0
            for i in 0..<C { m += xr[i] }
            m /= Float(C)
            var v: Float = 0
            for i in 0..<C {
                let d = xr[i] - m
                v += d * d
            }
            v /= Float(C)
            let s = 1 / (v + eps).squareRoot()
            for i in 0..<C { yr[i] = (xr[i] - m) * s * g[i] + b[i] }
            mp[r] = m
            rp[r] = s
        }
    }

    /// The normalisation in `mode`: `forward` (keeping the statistics `backward` reads) for training,
    /// `forwardInference` otherwise.
    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, mode: ForwardMode) {
        switch mode {
        case .training(let kernels):
            splitBackward = kernels.path == .simd
            forward(x, y, rows: rows)
        case .inference(let kernels): forwardInference(x, y, rows: rows, kernels: kernels)
        }
    }

    /// Inference: the same normalisation by `lk_layer_norm_rows` under `InferenceKernels.simd` (vector partial sums,
    /// so the last bits differ from `forward`'s), otherwise `forward`; keeps no statistics for a backward pass.
    public func forwardInference(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, kernels: KernelChoice
    ) {
        guard kernels.path == .simd else { return forward(x, y, rows: rows) }
        let level = kernels.level
        let (C, g, b, eps) = (features, UnsafePointer(store.value(weight)), UnsafePointer(store.value(bias)), eps)
        let parts = rows >= 256 ? Workers.count : 1
        parallelFor(parts, workers: parts) { part, _ in
            let lo = rows * part / parts
            let hi = rows * (part + 1) / parts
            lk_layer_norm_rows(x + lo * C, y + lo * C, Int32(hi - lo), Int32(C), g, b, eps, Int32(level.rawValue))
        }
    }

    /// Accumulates dx and the parameter gradients. After a training forward on the reference path one sequential
    /// pass over the rows; after one under `.simd`, the rows split into one block per worker (each block's
    /// parameter-gradient sums kept apart, then added in block order: the same result for the same worker count).
    public func backward(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, rows: Int
    ) {
        let C = features
        let parts = splitBackward && rows >= 256 ? Workers.count : 1
        guard parts > 1 else {
            return backwardRows(x, dy, dx, 0..<rows, dg: store.grad(weight), db: store.grad(bias))
        }
        let pp = partials.reserve(parts * 2 * C)
        pp.update(repeating: 0, count: parts * 2 * C)
        parallelFor(parts, workers: parts) { part, _ in
            let lo = rows * part / parts
            let hi = rows * (part + 1) / parts
            backwardRows(x, dy, dx, lo..<hi, dg: pp + part * 2 * C, db: pp + part * 2 * C + C)
        }
        let dg = store.grad(weight)
        let db = store.grad(bias)
        for part in 0..<parts {
            for i in 0..<C {
                dg[i] += pp[part * 2 * C + i]
                db[i] += pp[part * 2 * C + C + i]
            }
        }
    }

    /// The backward pass of rows `range`, adding into dx and into dg, db.
    func backwardRows(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, _ range: Range<Int>,
        dg: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>
    ) {
        let C = features
        let mp = mean.pointer
        let rp = rstd.pointer
        let g = store.value(weight)
        for r in range {
            let xr = x + r * C
            let dyr = dy + r * C
            let dxr = dx + r * C
            let m = mp[r]
            let s = rp[r]
            var meanD: Float = 0
            var meanDX: Float = 0
            for i in 0..<C {
                let xh = (xr[i] - m) * s
                let dn = dyr[i] * g[i]
                meanD += dn
                meanDX += dn * xh
                dg[i] += dyr[i] * xh
                db[i] += dyr[i]
            }
            meanD /= Float(C)
            meanDX /= Float(C)
            for i in 0..<C {
                let xh = (xr[i] - m) * s
                dxr[i] += s * (dyr[i] * g[i] - meanD - xh * meanDX)
            }
        }
    }
}
