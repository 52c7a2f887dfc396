import Foundation
import LeonardoSim

/// A multilayer perceptron built from LeonardoSim's `Linear` layers (one batched `cblas_sgemm` per layer) with
/// ReLU between them, over its own `ParameterStore`, so Adam and HDF5 I/O are the ones LEONARDO uses.
/// Buffers are preallocated for up to `maxRows` rows and grow on demand.
public final class MLP {
    public let sizes: [Int]
    public let parameters = ParameterStore()
    public let layers: [Linear]
    // activations[0] = input copy, activations[i] = output of layer i (post-ReLU except last)
    var activations: [FloatBuffer] = []
    var gradients: [FloatBuffer] = []
    var capacity = 0

    /// `sizes` = [input, hidden…, output]; weights drawn with PyTorch's default initialisation from `seed`.
    /// `extra` declares further parameter vectors (name, length, initial value) after the layers, in the same store,
    /// so that Adam, gradient clipping and the policy file cover them (PPO's Gaussian `log_std`); the layers' weights
    /// are the same with or without them.
    public init(sizes: [Int], seed: UInt64, extra: [(name: String, count: Int, value: Float)] = []) {
        precondition(sizes.count >= 2 && sizes.allSatisfy { $0 >= 1 })
        self.sizes = sizes
        var ls: [Linear] = []
        for i in 0..<(sizes.count - 1) { ls.append(Linear(parameters, "layers.\(i)", sizes[i], sizes[i + 1])) }
        layers = ls
        for e in extra { _ = parameters.declare(e.name, [e.count], .constant(e.value)) }
        var rng = Xoshiro256StarStar(seed: seed)
        parameters.finalize(rng: &rng)
        reserve(rows: 64)
    }

    func reserve(rows: Int) {
        guard rows > capacity else { return }
        capacity = rows
        activations = sizes.map { FloatBuffer(count: rows * $0) }
        gradients = sizes.map { FloatBuffer(count: rows * $0) }
    }

    /// Forward pass for `rows` inputs (rows × sizes[0], row-major); returns a pointer to rows × sizes.last outputs,
    /// valid until the next call.
    @discardableResult
    public func forward(_ x: UnsafePointer<Float>, rows: Int) -> UnsafeMutablePointer<Float> {
        reserve(rows: rows)
        activations[0].pointer.update(from: x, count: rows * sizes[0])
        for (i, layer) in layers.enumerated() {
            let y = activations[i + 1].pointer
            layer.forward(activations[i].pointer, y, rows: rows)
            if i < layers.count - 1 { for j in 0..<(rows * sizes[i + 1]) where y[j] < 0 { y[j] = 0 } }
        }
        return activations[layers.count].pointer
    }

    /// Convenience: the outputs for one input vector.
    public func predict(_ x: [Float]) -> [Float] {
        let out = x.withUnsafeBufferPointer { forward($0.baseAddress!, rows: 1) }
        return Array(UnsafeBufferPointer(start: out, count: sizes.last!))
    }

    /// Backward pass from dL/d(output) (rows × sizes.last) after `forward` with the same rows; adds into the
    /// parameter gradients (call `parameters.zeroGrads()` first).
    public func backward(_ dOut: UnsafePointer<Float>, rows: Int) {
        let n = layers.count
        gradients[n].pointer.update(from: dOut, count: rows * sizes[n])
        for i in stride(from: n - 1, through: 0, by: -1) {
            let dy = gradients[i + 1].pointer
            if i < n - 1 {  // through the ReLU after layer i
                let y = activations[i + 1].pointer
                for j in 0..<(rows * sizes[i + 1]) where y[j] <= 0 { dy[j] = 0 }
            }
            let dx: UnsafeMutablePointer<Float>? = i > 0 ? gradients[i].pointer : nil
            if let dx { dx.update(repeating: 0, count: rows * sizes[i]) }
            layers[i].backward(activations[i].pointer, dy, dx, rows: rows)
        }
    }

    /// Copies all weights from another network of the same shape (target networks).
    public func copyWeights(from other: MLP) {
        precondition(other.sizes == sizes)
        parameters.values.update(from: other.parameters.values, count: parameters.count)
    }

    /// θ ← τ·θ_other + (1 − τ)·θ (Polyak averaging).
    public func blendWeights(from other: MLP, tau: Float) {
        let p = parameters.values
        let q = other.parameters.values
        for i in 0..<parameters.count { p[i] = tau * q[i] + (1 - tau) * p[i] }
    }

    /// Writes the weights into an open HDF5 file under `prefix/`.
    public func write(to f: HDF5File, prefix: String) throws { try parameters.write(to: f, prefix: prefix) }

    /// Reads weights written by `write`, checking names and shapes.
    public func read(from f: HDF5File, prefix: String) throws { try parameters.read(from: f, prefix: prefix) }
}
