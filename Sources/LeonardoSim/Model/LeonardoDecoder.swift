import Foundation

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
    /// One `DecoderLane` per worker, made on first use (see `forward`).
    var lanes: [DecoderLane] = []

    init(_ store: ParameterStore, _ c: LeonardoConfig) {
        cfg = c
        linear1 = Linear(store, "decoder.linear1", c.latentDim, c.decoderHidden)
        if c.isStationary {
            bottleneckLinear = nil
            frontEnd = StationaryFrontEnd(
                store, "decoder.stationary", hidden: c.decoderHidden, channels: c.decoderChannels,
                noiseChannels: c.frameNoiseChannels)
            integrator = IncrementIntegrator(channels: c.inputChannels)
        } else {
            bottleneckLinear = Linear(
                store, "decoder.bottleneck_decoding.linear1", c.decoderHidden, c.decoderChannels * c.length)
            frontEnd = nil
            integrator = nil
        }
        convTranspose = ConvTranspose1d(
            store, "decoder.bottleneck_decoding.convtranspose1", c.decoderChannels, c.embedSize,
            kernel: c.convTransposeKernel, padding: c.convTransposeKernel / 2)
        layers = (0..<c.numLayers).map {
            DecoderBlock(
                store, "decoder.layers.\($0)", embed: c.embedSize, heads: c.heads, forwardExpansion: c.forwardExpansion)
        }
        convOut = Conv1d(
            store, "decoder.conv_out", c.embedSize, c.inputChannels, kernel: c.outputKernel, padding: c.outputKernel / 2
        )
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
    public func forward(
        _ z: UnsafePointer<Float>, noise: UnsafePointer<Float>? = nil, out: UnsafeMutablePointer<Float>,
        batch N: Int, training: Bool
    ) {
        let T = cfg.length
        let C = cfg.embedSize
        let Cd = cfg.decoderChannels
        input = z
        noiseInput = noise
        let h1p = h1.reserve(N * cfg.decoderHidden)
        if training { linear1.forward(z, h1p, rows: N) } else { linear1.forwardInference(z, h1p, rows: N) }
        reluForward(h1p, count: N * cfg.decoderHidden)
        let h2tp = h2t.reserve(N * T * Cd)
        if let frontEnd {
            guard let noise else { preconditionFailure("the stationary decoder needs per-frame noise") }
            frontEnd.forward(h1p, noise: noise, out: h2tp, batch: N, length: T)
        } else if let bottleneckLinear {
            let h2p = h2.reserve(N * Cd * T)
            if training {
                bottleneckLinear.forward(h1p, h2p, rows: N)
            } else {
                bottleneckLinear.forwardInference(h1p, h2p, rows: N)
            }
            reluForward(h2p, count: N * Cd * T)
            transposeBatch(h2p, h2tp, batch: N, rows: Cd, cols: T)  // view [N, Cd, T] → channels-last [N, T, Cd]
        }
        // Inference under the hand-written kernels with a trajectory for every worker: each worker takes whole
        // trajectories through convtranspose1, the blocks and conv_out with its own copy of those layers, so a
        // trajectory's activations (about 1 MB) stay in its core's L2 and no layer forks and joins the workers.
        if !training && InferenceKernels.current == .simd && Workers.count > 1 && N >= Workers.count
            && !ParallelRegion.active
        {
            while lanes.count < Workers.count { lanes.append(DecoderLane(self)) }
            let channels = cfg.inputChannels
            let convOutput = integrator == nil ? out : steps.reserve(N * T * channels)
            let lanes = lanes
            parallelFor(N) { n, worker in
                lanes[worker].forward(h2tp + n * T * Cd, out: convOutput + n * T * channels, length: T)
            }
            integrator?.forward(convOutput, out: out, batch: N, length: T)
            return
        }
        let ep = e.reserve(N * T * C)
        if training {
            convTranspose.forward(h2tp, ep, batch: N, length: T)
        } else {
            convTranspose.forwardInference(h2tp, ep, batch: N, length: T)
        }
        var cur = UnsafePointer(ep)
        for i in liveBlocks {
            let o = blockOut[i].reserve(N * T * C)
            layers[i].forward(
                cfg.chainDecoderBlocks ? cur : UnsafePointer(ep), out: o, batch: N, length: T, training: training)
            cur = UnsafePointer(o)
        }
        // The stationary variant reads conv_out as steps and integrates them into r̂.
        let convOutput = integrator == nil ? out : steps.reserve(N * T * cfg.inputChannels)
        if training {
            convOut.forward(cur, convOutput, batch: N, length: T)
        } else {
            convOut.forwardInference(cur, convOutput, batch: N, length: T)
        }
        if let integrator {
            integrator.forward(convOutput, out: out, batch: N, length: T)
        }
    }

    /// Backward from dr̂; accumulates parameter gradients and writes dz (overwritten).
    public func backward(dOut: UnsafePointer<Float>, dZ: UnsafeMutablePointer<Float>, batch N: Int) {
        let T = cfg.length
        let C = cfg.embedSize
        let Cd = cfg.decoderChannels
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

/// The decoder after its front end (convtranspose1, the live blocks, conv_out) once more, for one worker: the same
/// parameters, its own buffers. `LeonardoDecoder.forward` hands each worker whole trajectories, one at a time.
final class DecoderLane {
    let convTranspose: ConvTranspose1d
    let blocks: [DecoderBlock]
    let convOut: Conv1d
    let chain: Bool
    let embed: Int
    let e = FloatBuffer(), blockOut = [FloatBuffer(), FloatBuffer()]

    init(_ decoder: LeonardoDecoder) {
        convTranspose = ConvTranspose1d(sharing: decoder.convTranspose)
        blocks = decoder.liveBlocks.map { DecoderBlock(sharing: decoder.layers[$0]) }
        convOut = Conv1d(sharing: decoder.convOut)
        chain = decoder.cfg.chainDecoderBlocks
        embed = decoder.cfg.embedSize
    }

    /// One trajectory: h2t (T×Cd, channels last) → conv_out's output (T×channels).
    func forward(_ h2t: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, length T: Int) {
        let ep = e.reserve(T * embed)
        convTranspose.forwardInference(h2t, ep, batch: 1, length: T)
        var cur = UnsafePointer(ep)
        for (j, block) in blocks.enumerated() {
            let o = blockOut[j % 2].reserve(T * embed)
            block.forward(chain ? cur : UnsafePointer(ep), out: o, batch: 1, length: T, training: false)
            cur = UnsafePointer(o)
        }
        convOut.forwardInference(cur, out, batch: 1, length: T)
    }
}
