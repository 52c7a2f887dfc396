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
        conv1 = Conv1d(store, "encoder.conv1", c.inputChannels, c.embedSize, kernel: c.inputKernel, padding: c.inputKernel / 2)
        layers = (0..<c.numLayers).map {
            TransformerBlock(store, "encoder.layers.\($0)", embed: c.embedSize, heads: c.heads, forwardExpansion: c.forwardExpansion)
        }
        bottleneckConv1 = Conv1d(store, "encoder.bottleneck.conv1", c.embedSize, c.bottleneckChannels,
                                 kernel: c.bottleneckKernel, padding: c.bottleneckKernel / 2)
        bottleneckConv2 = Conv1d(store, "encoder.bottleneck.conv2", c.bottleneckChannels, c.bottleneckChannels,
                                 kernel: 2, stride: 2)
        bottleneckLinear = Linear(store, "encoder.bottleneck.linear1", c.bottleneckChannels * c.length / 2, c.encoderHidden)
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

    public func forward(_ r: UnsafePointer<Float>, mu: UnsafeMutablePointer<Float>, logvar: UnsafeMutablePointer<Float>,
                        batch N: Int, training: Bool) {
        let T = cfg.length, C = cfg.embedSize, Cb = cfg.bottleneckChannels, T2 = T / 2
        input = r
        let x0 = xs[0].reserve(N * T * C)
        conv1.forward(r, x0, batch: N, length: T)
        for (i, layer) in layers.enumerated() {
            let xi = UnsafePointer(xs[i].pointer), xo = xs[i + 1].reserve(N * T * C)
            layer.forward(values: xi, keys: xi, queries: xi, out: xo, batch: N, length: T, training: training)
        }
        let b1p = b1.reserve(N * T * Cb), b2p = b2.reserve(N * T2 * Cb)
        bottleneckConv1.forward(xs[cfg.numLayers].pointer, b1p, batch: N, length: T)
        reluForward(b1p, count: N * T * Cb)
        bottleneckConv2.forward(b1p, b2p, batch: N, length: T)
        reluForward(b2p, count: N * T2 * Cb)
        let fp = flat.reserve(N * T2 * Cb)
        transposeBatch(b2p, fp, batch: N, rows: T2, cols: Cb)   // PyTorch flattens [N, Cb, T/2] channel-major
        let hp = hid.reserve(N * cfg.encoderHidden)
        bottleneckLinear.forward(fp, hp, rows: N)
        reluForward(hp, count: N * cfg.encoderHidden)
        zMeans.forward(hp, mu, rows: N)
        zVar.forward(hp, logvar, rows: N)
    }

    /// Backward from dμ, d log σ² (after a training forward pass); parameter gradients accumulate.
    public func backward(dMu: UnsafePointer<Float>, dLogvar: UnsafePointer<Float>, batch N: Int) {
        let T = cfg.length, C = cfg.embedSize, Cb = cfg.bottleneckChannels, T2 = T / 2, Hd = cfg.encoderHidden
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
        var dCur = dxs.reserve(N * T * C), dNext = dxs2.reserve(N * T * C)
        dCur.update(repeating: 0, count: N * T * C)
        bottleneckConv1.backward(xs[cfg.numLayers].pointer, d1, dCur, batch: N, length: T)
        for i in stride(from: layers.count - 1, through: 0, by: -1) {
            dNext.update(repeating: 0, count: N * T * C)
            let xi = UnsafePointer(xs[i].pointer)
            layers[i].backward(values: xi, keys: xi, queries: xi, dOut: dCur, dValues: dNext, dKeys: dNext, dQueries: dNext,
                               batch: N, length: T)
            swap(&dCur, &dNext)
        }
        guard let r = input else { return }
        conv1.backward(r, dCur, nil, batch: N, length: T)
    }
}

/// The LEONARDO decoder: z (N×latent) → r̂ (N×T×2).
/// Authors' variant: `decoder.linear1`+ReLU → `decoder.bottleneck_decoding.linear1`+ReLU, viewed N×Cd×T →
/// `decoder.bottleneck_decoding.convtranspose1` = e → decoder blocks → `decoder.conv_out` = r̂.
/// Stationary variant: `decoder.linear1`+ReLU → `StationaryFrontEnd` (with per-frame noise) → the same
/// convtranspose1, blocks and conv_out, whose output is read as steps → `IncrementIntegrator` = r̂.
public final class LeonardoDecoder {
    let cfg: LeonardoConfig
    public let linear1: Linear
    /// The authors' frame-specific dense layer (nil in the stationary variant).
    public let bottleneckLinear: Linear?
    /// The stationary variant's front end (nil in the authors' variant).
    public let frontEnd: StationaryFrontEnd?
    let integrator: IncrementIntegrator?
    public let convTranspose: ConvTranspose1d
    public let layers: [DecoderBlock]
    public let convOut: Conv1d
    let h1 = FloatBuffer(), h2 = FloatBuffer(), h2t = FloatBuffer(), e = FloatBuffer(), steps = FloatBuffer()
    var blockOut: [FloatBuffer]
    let dh1 = FloatBuffer(), dh2 = FloatBuffer(), dh2t = FloatBuffer(), de = FloatBuffer(), dSteps = FloatBuffer()
    let dA = FloatBuffer(), dB = FloatBuffer()
    var input: UnsafePointer<Float>?
    var noiseInput: UnsafePointer<Float>?

    init(_ store: ParameterStore, _ c: LeonardoConfig) {
        cfg = c
        linear1 = Linear(store, "decoder.linear1", c.latentDim, c.decoderHidden)
        if c.isStationary {
            bottleneckLinear = nil
            frontEnd = StationaryFrontEnd(store, "decoder.stationary", hidden: c.decoderHidden, channels: c.decoderChannels,
                                          noiseChannels: c.frameNoiseChannels)
            integrator = IncrementIntegrator(channels: c.inputChannels)
        } else {
            bottleneckLinear = Linear(store, "decoder.bottleneck_decoding.linear1", c.decoderHidden, c.decoderChannels * c.length)
            frontEnd = nil
            integrator = nil
        }
        convTranspose = ConvTranspose1d(store, "decoder.bottleneck_decoding.convtranspose1", c.decoderChannels, c.embedSize,
                                        kernel: c.convTransposeKernel, padding: c.convTransposeKernel / 2)
        layers = (0..<c.numLayers).map {
            DecoderBlock(store, "decoder.layers.\($0)", embed: c.embedSize, heads: c.heads, forwardExpansion: c.forwardExpansion)
        }
        convOut = Conv1d(store, "decoder.conv_out", c.embedSize, c.inputChannels, kernel: c.outputKernel, padding: c.outputKernel / 2)
        blockOut = (0..<c.numLayers).map { _ in FloatBuffer() }
    }

    /// Indices of the decoder blocks whose output reaches r̂: all of them when chained, else only the last.
    var liveBlocks: [Int] { cfg.chainDecoderBlocks ? Array(0..<layers.count) : [layers.count - 1] }

    /// Floating-point operations of one decoded trajectory, counting only the layers that reach the output
    /// (with `chainDecoderBlocks == false` the first blocks are dead weight and are skipped).
    public var flopsPerTrajectory: Int {
        let T = cfg.length
        var f = linear1.flopsPerRow + convTranspose.flops(length: T) + convOut.flops(length: T)
        f += bottleneckLinear?.flopsPerRow ?? 0
        f += frontEnd?.flops(length: T) ?? 0
        for i in liveBlocks { f += layers[i].flops(length: T) }
        return f
    }

    /// Decodes z into r̂. The stationary variant reads `noise` (N×T×noiseChannels standard normals); the authors'
    /// variant ignores it.
    public func forward(_ z: UnsafePointer<Float>, noise: UnsafePointer<Float>? = nil, out: UnsafeMutablePointer<Float>,
                        batch N: Int, training: Bool) {
        let T = cfg.length, C = cfg.embedSize, Cd = cfg.decoderChannels
        input = z
        noiseInput = noise
        let h1p = h1.reserve(N * cfg.decoderHidden)
        linear1.forward(z, h1p, rows: N)
        reluForward(h1p, count: N * cfg.decoderHidden)
        let h2tp = h2t.reserve(N * T * Cd)
        if let frontEnd {
            guard let noise else { preconditionFailure("the stationary decoder needs per-frame noise") }
            frontEnd.forward(h1p, noise: noise, out: h2tp, batch: N, length: T)
        } else if let bottleneckLinear {
            let h2p = h2.reserve(N * Cd * T)
            bottleneckLinear.forward(h1p, h2p, rows: N)
            reluForward(h2p, count: N * Cd * T)
            transposeBatch(h2p, h2tp, batch: N, rows: Cd, cols: T)   // view [N, Cd, T] → channels-last [N, T, Cd]
        }
        let ep = e.reserve(N * T * C)
        convTranspose.forward(h2tp, ep, batch: N, length: T)
        var cur = UnsafePointer(ep)
        for i in liveBlocks {
            let o = blockOut[i].reserve(N * T * C)
            layers[i].forward(cfg.chainDecoderBlocks ? cur : UnsafePointer(ep), out: o, batch: N, length: T, training: training)
            cur = UnsafePointer(o)
        }
        if let integrator {
            let sp = steps.reserve(N * T * cfg.inputChannels)
            convOut.forward(cur, sp, batch: N, length: T)
            integrator.forward(sp, out: out, batch: N, length: T)
        } else {
            convOut.forward(cur, out, batch: N, length: T)
        }
    }

    /// Backward from dr̂; accumulates parameter gradients and writes dz (overwritten).
    public func backward(dOut: UnsafePointer<Float>, dZ: UnsafeMutablePointer<Float>, batch N: Int) {
        let T = cfg.length, C = cfg.embedSize, Cd = cfg.decoderChannels
        let live = liveBlocks
        var dConvOut = dOut
        if let integrator {
            let dsp = dSteps.reserve(N * T * cfg.inputChannels)
            integrator.backward(dOut: dOut, dSteps: dsp, batch: N, length: T)
            dConvOut = UnsafePointer(dsp)
        }
        let dep = de.reserve(N * T * C)
        dep.update(repeating: 0, count: N * T * C)
        var dCur = dA.reserve(N * T * C)
        dCur.update(repeating: 0, count: N * T * C)
        convOut.backward(blockOut[live.last!].pointer, dConvOut, dCur, batch: N, length: T)
        var dNext = dB.reserve(N * T * C)
        for (j, i) in live.enumerated().reversed() {
            let inputIsE = !cfg.chainDecoderBlocks || j == 0
            let blockIn = inputIsE ? UnsafePointer(e.pointer) : UnsafePointer(blockOut[live[j - 1]].pointer)
            if inputIsE {
                layers[i].backward(blockIn, dOut: dCur, dInput: dep, batch: N, length: T)
            } else {
                dNext.update(repeating: 0, count: N * T * C)
                layers[i].backward(blockIn, dOut: dCur, dInput: dNext, batch: N, length: T)
                swap(&dCur, &dNext)
            }
        }
        let dh2tp = dh2t.reserve(N * T * Cd)
        dh2tp.update(repeating: 0, count: N * T * Cd)
        convTranspose.backward(h2t.pointer, dep, dh2tp, batch: N, length: T)
        let dh1p = dh1.reserve(N * cfg.decoderHidden)
        dh1p.update(repeating: 0, count: N * cfg.decoderHidden)
        if let frontEnd, let noise = noiseInput {
            frontEnd.backward(h1.pointer, noise: noise, out: h2t.pointer, dOut: dh2tp, dH: dh1p, batch: N, length: T)
        } else if let bottleneckLinear {
            let dh2p = dh2.reserve(N * Cd * T)
            dh2p.update(repeating: 0, count: N * Cd * T)
            transposeBatchAdd(dh2tp, dh2p, batch: N, rows: Cd, cols: T)
            reluBackward(h2.pointer, dh2p, count: N * Cd * T)
            bottleneckLinear.backward(h1.pointer, dh2p, dh1p, rows: N)
        }
        reluBackward(h1.pointer, dh1p, count: N * cfg.decoderHidden)
        dZ.update(repeating: 0, count: N * cfg.latentDim)
        linear1.backward(input!, dh1p, dZ, rows: N)
    }
}

/// The LEONARDO transformer-VAE (Shabeb & Jamali), reproducing the authors' released PyTorch model.
/// Parameter names are the PyTorch `state_dict` names. Not thread-safe: one model instance per thread.
public final class Leonardo {
    public let config: LeonardoConfig
    public let parameters: ParameterStore
    public let encoder: LeonardoEncoder
    public let decoder: LeonardoDecoder
    /// `layernorm` (size T) exists in released checkpoints but is unused by the forward pass; kept for round trips.
    public let unusedLayerNorm: (weight: ParameterRef, bias: ParameterRef)
    /// The dose axis of this model, if calibrated (stored with the checkpoint as the attribute `dose_calibration`).
    public var doseCalibration: DoseCalibration?
    /// A Gaussian fitted to the aggregate posterior, if fitted (attribute `latent_prior`); `generate --prior fitted`.
    public var latentPrior: LatentPrior?

    /// The latent value of the dose axis for `doseRate` (e⁻ Å⁻² s⁻¹); nil when the model is not calibrated.
    public func latent(forDoseRate doseRate: Double) -> (index: Int, value: Double)? {
        doseCalibration.map { ($0.index, $0.latent(forDoseRate: doseRate)) }
    }

    /// Trajectories decoded per internal chunk (bounds memory; keeps activations cache-sized).
    public var decodeChunk = 32
    let objectiveBuffers = ObjectiveBuffers()

    /// Builds a model with PyTorch-default initialisation drawn from a generator seeded with `seed`.
    public init(config: LeonardoConfig = .paper, seed: UInt64 = 0) throws {
        try config.validate()
        self.config = config
        parameters = ParameterStore()
        encoder = LeonardoEncoder(parameters, config)
        decoder = LeonardoDecoder(parameters, config)
        unusedLayerNorm = (parameters.declare("layernorm.weight", [config.length], .constant(1)),
                           parameters.declare("layernorm.bias", [config.length], .constant(0)))
        var rng = Xoshiro256StarStar(seed: seed)
        parameters.finalize(rng: &rng)
    }

    public var parameterCount: Int { parameters.count }

    /// Per-frame noise values the decoder reads for `batch` trajectories (0 for the authors' decoder).
    public func noiseCount(batch: Int) -> Int { batch * config.length * config.frameNoiseChannels }

    /// Decodes latents z (batch×latentDim, row-major) into trajectories (batch×T×channels). Deterministic given z
    /// and, for the stationary decoder, `noise` (`noiseCount(batch:)` standard normals; required there).
    public func decode(z: [Float], noise: [Float]? = nil) -> [Float] {
        let L = config.latentDim
        precondition(z.count % L == 0, "z must hold batch × \(L) values")
        let n = z.count / L
        precondition((noise?.count ?? 0) >= noiseCount(batch: n), "the stationary decoder needs \(noiseCount(batch: n)) noise values")
        var out = [Float](repeating: 0, count: n * config.length * config.inputChannels)
        z.withUnsafeBufferPointer { zp in
            out.withUnsafeMutableBufferPointer { op in
                if let noise {
                    noise.withUnsafeBufferPointer { np in decode(z: zp.baseAddress!, noise: np.baseAddress, out: op.baseAddress!, batch: n) }
                } else {
                    decode(z: zp.baseAddress!, out: op.baseAddress!, batch: n)
                }
            }
        }
        return out
    }

    /// Decodes latents, drawing the stationary decoder's per-frame noise from `rng` (no draw for the authors' decoder).
    public func decode(z: [Float], rng: inout Xoshiro256StarStar) -> [Float] {
        let count = noiseCount(batch: z.count / config.latentDim)
        guard count > 0 else { return decode(z: z) }
        return decode(z: z, noise: (0..<count).map { _ in Float(rng.normal()) })
    }

    /// Decodes into caller-owned memory, in chunks of `decodeChunk` trajectories (`noise` as in `decode(z:noise:)`).
    public func decode(z: UnsafePointer<Float>, noise: UnsafePointer<Float>? = nil, out: UnsafeMutablePointer<Float>, batch n: Int) {
        let L = config.latentDim, step = config.length * config.inputChannels
        let perNoise = config.length * config.frameNoiseChannels
        var start = 0
        while start < n {
            let m = min(decodeChunk, n - start)
            decoder.forward(z + start * L, noise: noise.map { $0 + start * perNoise }, out: out + start * step, batch: m,
                            training: false)
            start += m
        }
    }

    /// Encodes trajectories (batch×T×channels) to the posterior mean and log-variance (batch×latentDim each).
    public func encode(_ r: [Float]) -> (mu: [Float], logvar: [Float]) {
        let step = config.length * config.inputChannels, L = config.latentDim
        precondition(r.count % step == 0, "trajectories must hold batch × \(config.length) × \(config.inputChannels) values")
        let n = r.count / step
        var mu = [Float](repeating: 0, count: n * L), lv = [Float](repeating: 0, count: n * L)
        r.withUnsafeBufferPointer { rp in
            mu.withUnsafeMutableBufferPointer { mp in
                lv.withUnsafeMutableBufferPointer { lp in
                    var start = 0
                    while start < n {
                        let m = min(decodeChunk, n - start)
                        encoder.forward(rp.baseAddress! + start * step, mu: mp.baseAddress! + start * L,
                                        logvar: lp.baseAddress! + start * L, batch: m, training: false)
                        start += m
                    }
                }
            }
        }
        return (mu, lv)
    }
}
