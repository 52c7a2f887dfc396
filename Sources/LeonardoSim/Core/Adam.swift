import Foundation

/// Adam (Kingma & Ba, 2015) with bias correction, over a whole `ParameterStore` in one pass.
/// Shared by LEONARDO training and the agents' networks.
public final class Adam {
    public var learningRate: Float
    public var beta1: Float, beta2: Float, eps: Float
    /// Steps taken so far (t in the paper).
    public private(set) var step: Int = 0
    public private(set) var m: [Float]
    public private(set) var v: [Float]
    unowned let store: ParameterStore

    public init(
        _ store: ParameterStore, learningRate: Float = 3e-4, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8
    ) {
        self.store = store
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        m = [Float](repeating: 0, count: store.count)
        v = [Float](repeating: 0, count: store.count)
    }

    /// Scales the gradient so its global L2 norm is at most `maxNorm` (no-op for maxNorm <= 0); returns the norm before.
    /// The norm is one sequential sum in double precision (its order fixes the result); the scaling is element-wise
    /// and runs in parallel chunks.
    @discardableResult
    public func clipGradients(maxNorm: Double) -> Double {
        let norm = store.gradNorm()
        if maxNorm > 0 && norm > maxNorm {
            let s = Float(maxNorm / (norm + 1e-12))
            let g = store.grads
            Adam.forChunks(store.count) { lo, hi in
                for i in lo..<hi { g[i] *= s }
            }
        }
        return norm
    }

    /// One update θ ← θ − lr·m̂/(√v̂ + ε). Every element is updated by the same expression, independently of the
    /// others, so splitting the store into chunks (one per worker, for large stores) changes no bit of the result.
    public func update() {
        precondition(!store.isFrozen, "Adam.update on a frozen ParameterStore (its weights were promised fixed)")
        step += 1
        let b1 = beta1
        let b2 = beta2
        let lr = learningRate
        let e = eps
        let c1 = 1 - Float(pow(Double(b1), Double(step)))
        let c2 = 1 - Float(pow(Double(b2), Double(step)))
        let p = store.values
        let g = store.grads
        let count = store.count
        m.withUnsafeMutableBufferPointer { mb in
            v.withUnsafeMutableBufferPointer { vb in
                guard let mp = mb.baseAddress, let vp = vb.baseAddress else { return }
                Adam.forChunks(count) { lo, hi in
                    // 16 lanes at a time (the compiler does not vectorise the scalar loop: the four arrays might
                    // overlap), then the rest; each lane computes exactly the scalar expression.
                    typealias V = SIMD16<Float>
                    var i = lo
                    while i + 16 <= hi {
                        let gi = UnsafeRawPointer(g + i).loadUnaligned(as: V.self)
                        let mi =
                            b1 * UnsafeRawPointer(mp + i).loadUnaligned(as: V.self) + (1 - b1) * gi
                        let vi =
                            b2 * UnsafeRawPointer(vp + i).loadUnaligned(as: V.self) + (1 - b2) * gi * gi
                        UnsafeMutableRawPointer(mp + i).storeBytes(of: mi, as: V.self)
                        UnsafeMutableRawPointer(vp + i).storeBytes(of: vi, as: V.self)
                        let pi = UnsafeRawPointer(p + i).loadUnaligned(as: V.self)
                        let step = lr * (mi / c1) / ((vi / c2).squareRoot() + e)
                        UnsafeMutableRawPointer(p + i).storeBytes(of: pi - step, as: V.self)
                        i += 16
                    }
                    while i < hi {
                        let gi = g[i]
                        let mi = b1 * mp[i] + (1 - b1) * gi
                        let vi = b2 * vp[i] + (1 - b2) * gi * gi
                        mp[i] = mi
                        vp[i] = vi
                        p[i] -= lr * (mi / c1) / ((vi / c2).squareRoot() + e)
                        i += 1
                    }
                }
            }
        }
    }

    /// Runs `body(lo, hi)` over 0..<count: in one call for small stores (an agent's network), else in one
    /// contiguous chunk per worker.
    static func forChunks(_ count: Int, _ body: (Int, Int) -> Void) {
        let workers = count >= 1 << 16 ? Workers.count : 1
        if workers <= 1 {
            body(0, count)
            return
        }
        parallelFor(workers, workers: workers) { w, _ in
            body(count * w / workers, count * (w + 1) / workers)
        }
    }

    /// Restores moments and step count (from a checkpoint).
    public func restore(m: [Float], v: [Float], step: Int) {
        precondition(m.count == store.count && v.count == store.count)
        self.m = m
        self.v = v
        self.step = step
    }
}
