import Foundation

/// The LEONARDO encoder: r (N×T×2) → (μ, log σ²) (N×latent each).
/// `encoder.conv1` → `encoder.layers.i` (x = T(x, x, x)) → `encoder.bottleneck` (conv1+ReLU, conv2 stride 2
/// +ReLU, channel-major flatten, linear1+ReLU) → `encoder.z_means`, `encoder.z_var`.
public final class LeonardoEncoder {
    let cfg: LeonardoConfig
    public let conv1: Conv1d
    public let layers: [TransformerBlock]
    public let bottleneckConv1: Conv1d, bottleneckConv2: Conv1d
    public let bottleneckLinear: Linear
    public let zMeans: Linear, zVar: Linear
    // Activations: x0 = conv1(r); xs[i+1] = layers[i](xs[i]); b1, b2 bottleneck convs; flat; hid.
    var xs: [FloatBuffer]
    let b1 = FloatBuffer(), b2 = FloatBuffer(), flat = FloatBuffer(), hid = FloatBuffer()
    let dxs = FloatBuffer(), dxs2 = FloatBuffer(), db1 = FloatBuffer(), db2 = FloatBuffer()
    let dflat = FloatBuffer(), dhid = FloatBuffer()
    var input: UnsafePointer<Float>?

    init(_ store: ParameterStore, _ c: LeonardoConfig) {
        cfg = c
        conv1 = Conv1d(
            store, "encoder.conv1", c.inputChannels, c.embedSize, kernel: c.inputKernel, padding: c.inputKernel / 2)
        layers = (0..<c.numLayers).map {
            TransformerBlock(
                store, "encoder.layers.\($0)", embed: c.embedSize, heads: c.heads, forwardExpansion: c.forwardExpansion)
        }
        bottleneckConv1 = Conv1d(
            store, "encoder.bottleneck.conv1", c.embedSize, c.bottleneckChannels,
            kernel: c.bottleneckKernel, padding: c.bottleneckKernel / 2)
        bottleneckConv2 = Conv1d(
            store, "encoder.bottleneck.conv2", c.bottleneckChannels, c.bottleneckChannels,
            kernel: 2, stride: 2)
        bottleneckLinear = Linear(
            store, "encoder.bottleneck.linear1", c.bottleneckChannels * c.length / 2, c.encoderHidden)
        zMeans = Linear(store, "encoder.z_means", c.encoderHidden, c.latentDim)
        zVar = Linear(store, "encoder.z_var", c.encoderHidden, c.latentDim)
        xs = (0...c.numLayers).map { _ in FloatBuffer() }
    }

    /// Floating-point operations of encoding one trajectory.
    public var flopsPerTrajectory: Int {
        let T = cfg.length
        return conv1.flops(length: T) + layers.reduce(0) { $0 + $1.flops(length: T) } + bottleneckConv1.flops(length: T)
            + bottleneckConv2.flops(length: T) + bottleneckLinear.flopsPerRow + zMeans.flopsPerRow + zVar.flopsPerRow
    }

    public func forward(
        _ r: UnsafePointer<Float>, mu: UnsafeMutablePointer<Float>, logvar: UnsafeMutablePointer<Float>,
        batch N: Int, mode: ForwardMode
    ) {
        let T = cfg.length
        let C = cfg.embedSize
        let Cb = cfg.bottleneckChannels
        let T2 = T / 2
        input = r
        let x0 = xs[0].reserve(N * T * C)
        conv1.forward(r, x0, batch: N, length: T)
        for (i, layer) in layers.enumerated() {
            let xi = UnsafePointer(xs[i].pointer)
            let xo = xs[i + 1].reserve(N * T * C)
            layer.forward(values: xi, keys: xi, queries: xi, out: xo, batch: N, length: T, mode: mode)
        }
        let b1p = b1.reserve(N * T * Cb)
        let b2p = b2.reserve(N * T2 * Cb)
        bottleneckConv1.forward(xs[cfg.numLayers].pointer, b1p, batch: N, length: T)
        reluForward(b1p, count: N * T * Cb)
        bottleneckConv2.forward(b1p, b2p, batch: N, length: T)
        reluForward(b2p, count: N * T2 * Cb)
        let fp = flat.reserve(N * T2 * Cb)
        transposeBatch(b2p, fp, batch: N, rows: T2, cols: Cb)  // PyTorch flattens [N, Cb, T/2] channel-major
        let hp = hid.reserve(N * cfg.encoderHidden)
        bottleneckLinear.forward(fp, hp, rows: N)
        reluForward(hp, count: N * cfg.encoderHidden)
        zMeans.forward(hp, mu, rows: N)
        zVar.forward(hp, logvar, rows: N)
    }

    /// Backward from dμ, d log σ² (after a training forward pass); parameter gradients accumulate.
    public func backward(dMu: UnsafePointer<Float>, dLogvar: UnsafePointer<Float>, batch N: Int) {
        let T = cfg.length
        let C = cfg.embedSize
        let Cb = cfg.bottleneckChannels
        let T2 = T / 2
        let Hd = cfg.encoderHidden
        let dh = dhid.reserve(N * Hd)
        dh.update(repeating: 0, count: N * Hd)
        zMeans.backward(hid.pointer, dMu, dh, rows: N)
        zVar.backward(hid.pointer, dLogvar, dh, rows: N)
        reluBackward(hid.pointer, dh, count: N * Hd)
        let df = dflat.reserve(N * T2 * Cb)
        df.update(repeating: 0, count: N * T2 * Cb)
        bottleneckLinear.backward(flat.pointer, dh, df, rows: N)
        let d2 = db2.reserve(N * T2 * Cb)
        d2.update(repeating: 0, count: N * T2 * Cb)
        transposeBatchAdd(df, d2, batch: N, rows: T2, cols: Cb)
        reluBackward(b2.pointer, d2, count: N * T2 * Cb)
        let d1 = db1.reserve(N * T * Cb)
        d1.update(repeating: 0, count: N * T * Cb)
        bottleneckConv2.backward(b1.pointer, d2, d1, batch: N, length: T)
        reluBackward(b1.pointer, d1, count: N * T * Cb)
        var dCur = dxs.reserve(N * T * C)
        var dNext = dxs2.reserve(N * T * C)
        dCur.update(repeating: 0, count: N * T * C)
        bottleneckConv1.backward(xs[cfg.numLayers].pointer, d1, dCur, batch: N, length: T)
        for i in stride(from: layers.count - 1, through: 0, by: -1) {
            dNext.update(repeating: 0, count: N * T * C)
            let xi = UnsafePointer(xs[i].pointer)
            layers[i].backward(
                values: xi, keys: xi, queries: xi, dOut: dCur, dValues: dNext, dKeys: dNext, dQueries: dNext,
                batch: N, length: T)
            swap(&dCur, &dNext)
        }
        guard let r = input else { return }
        conv1.backward(r, dCur, nil, batch: N, length: T)
    }
}
