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
    @discardableResult
    public func clipGradients(maxNorm: Double) -> Double {
        let norm = store.gradNorm()
        if maxNorm > 0 && norm > maxNorm {
            let s = Float(maxNorm / (norm + 1e-12))
            let g = store.grads
            for i in 0..<store.count { g[i] *= s }
        }
        return norm
    }

    /// One update θ ← θ − lr·m̂/(√v̂ + ε).
    public func update() {
        step += 1
        let b1 = beta1
        let b2 = beta2
        let lr = learningRate
        let e = eps
        let c1 = 1 - Float(pow(Double(b1), Double(step)))
        let c2 = 1 - Float(pow(Double(b2), Double(step)))
        let p = store.values
        let g = store.grads
        m.withUnsafeMutableBufferPointer { mp in
            v.withUnsafeMutableBufferPointer { vp in
                for i in 0..<store.count {
                    let gi = g[i]
                    mp[i] = b1 * mp[i] + (1 - b1) * gi
                    vp[i] = b2 * vp[i] + (1 - b2) * gi * gi
                    p[i] -= lr * (mp[i] / c1) / ((vp[i] / c2).squareRoot() + e)
                }
            }
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
