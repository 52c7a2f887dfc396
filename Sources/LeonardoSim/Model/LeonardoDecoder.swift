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
    /// convtranspose1, the live blocks and conv_out, with the buffers the backward pass reads.
    let body: DecoderBody
    /// When set, every stage of an inference forward pass is timed into it (`gym-runner perf bench --layers`); the
    /// batch then runs as one, without the per-worker lanes.
    public var profile: StageProfile?
    let h1 = FloatBuffer(), h2 = FloatBuffer(), h2t = FloatBuffer(), steps = FloatBuffer()
    let dh1 = FloatBuffer(), dh2 = FloatBuffer(), dh2t = FloatBuffer(), de = FloatBuffer(), dSteps = FloatBuffer()
    let dA = FloatBuffer(), dB = FloatBuffer()
    var input: UnsafePointer<Float>?
    var noiseInput: UnsafePointer<Float>?
    /// One copy of `body` per worker, made on first use (see `forward`).
    var lanes: [DecoderBody] = []

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
            bottleneckLinear?.sparseInput = true  // its input is linear1's ReLU output
            frontEnd = nil
            integrator = nil
        }
        convTranspose = ConvTranspose1d(
            store, "decoder.bottleneck_decoding.convtranspose1", c.decoderChannels, c.embedSize,
            kernel: c.convTransposeKernel, padding: c.convTransposeKernel / 2)
        let blocks = (0..<c.numLayers).map {
            DecoderBlock(
                store, "decoder.layers.\($0)", embed: c.embedSize, heads: c.heads, forwardExpansion: c.forwardExpansion)
        }
        layers = blocks
        convOut = Conv1d(
            store, "decoder.conv_out", c.embedSize, c.inputChannels, kernel: c.outputKernel, padding: c.outputKernel / 2
        )
        let live = c.chainDecoderBlocks ? Array(0..<c.numLayers) : [c.numLayers - 1]
        body = DecoderBody(
            convTranspose: convTranspose, blocks: live.map { blocks[$0] }, convOut: convOut,
            chain: c.chainDecoderBlocks, embed: c.embedSize)
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

    /// Decodes z into r̂ in `mode`. The stationary variant reads `noise` (N×T×noiseChannels standard normals); the
    /// authors' variant ignores it.
    public func forward(
        _ z: UnsafePointer<Float>, noise: UnsafePointer<Float>? = nil, out: UnsafeMutablePointer<Float>,
        batch N: Int, mode: ForwardMode
    ) {
        let T = cfg.length
        let Cd = cfg.decoderChannels
        let profile = mode.isTraining ? nil : profile
        input = z
        noiseInput = noise
        let h1p = h1.reserve(N * cfg.decoderHidden)
        stage(profile, "linear1", flops: linear1.flopsPerRow * N) {
            linear1.forward(z, h1p, rows: N, mode: mode)
            reluForward(h1p, count: N * cfg.decoderHidden)
        }
        let h2tp = h2t.reserve(N * T * Cd)
        if let frontEnd {
            guard let noise else { preconditionFailure("the stationary decoder needs per-frame noise") }
            stage(profile, "stationary front end", flops: frontEnd.flops(length: T) * N) {
                frontEnd.forward(h1p, noise: noise, out: h2tp, batch: N, length: T)
            }
        } else if let bottleneckLinear {
            let h2p = h2.reserve(N * Cd * T)
            stage(profile, "bottleneck linear", flops: bottleneckLinear.flopsPerRow * N) {
                bottleneckLinear.forward(h1p, h2p, rows: N, mode: mode)
                reluForward(h2p, count: N * Cd * T)
            }
            stage(profile, "transpose") {
                transposeBatch(h2p, h2tp, batch: N, rows: Cd, cols: T)  // view [N, Cd, T] → channels-last [N, T, Cd]
            }
        }
        // The stationary variant reads conv_out as steps and integrates them into r̂.
        let channels = cfg.inputChannels
        let convOutput = integrator == nil ? out : steps.reserve(N * T * channels)
        // Inference under the hand-written kernels with a trajectory for every worker: each worker takes whole
        // trajectories through the body with its own copy of those layers, so a trajectory's activations (about
        // 1 MB) stay in its core's L2 and no layer forks and joins the workers.
        if mode.simdLevel != nil && profile == nil && Workers.count > 1 && N >= Workers.count
            && !ParallelRegion.active
        {
            while lanes.count < Workers.count { lanes.append(DecoderBody(sharing: body)) }
            let lanes = lanes
            parallelFor(N) { n, worker in
                lanes[worker].forward(
                    h2tp + n * T * Cd, out: convOutput + n * T * channels, batch: 1, length: T, mode: mode)
            }
        } else {
            body.forward(h2tp, out: convOutput, batch: N, length: T, mode: mode, profile: profile)
        }
        if let integrator {
            stage(profile, "integrator") { integrator.forward(convOutput, out: out, batch: N, length: T) }
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
        convOut.backward(body.blockOut[live.count - 1].pointer, dConvOut, dCur, batch: N, length: T)
        var dNext = dB.reserve(N * T * C)
        for (j, i) in live.enumerated().reversed() {
            let inputIsE = !cfg.chainDecoderBlocks || j == 0
            let blockIn = inputIsE ? UnsafePointer(body.e.pointer) : UnsafePointer(body.blockOut[j - 1].pointer)
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

/// The decoder after its front end: convtranspose1, the live blocks and conv_out. Its `forward` is the one forward
/// pass of that part, run on the whole batch by the decoder (which keeps its buffers for the backward pass) or on one
/// trajectory at a time by each worker's lane (`init(sharing:)`: the same parameters, its own buffers).
final class DecoderBody {
    let convTranspose: ConvTranspose1d
    /// The live blocks, in order.
    let blocks: [DecoderBlock]
    let convOut: Conv1d
    let chain: Bool
    let embed: Int
    /// convtranspose1's output e, and each live block's output (read by the backward pass).
    let e = FloatBuffer()
    let blockOut: [FloatBuffer]

    init(convTranspose: ConvTranspose1d, blocks: [DecoderBlock], convOut: Conv1d, chain: Bool, embed: Int) {
        self.convTranspose = convTranspose
        self.blocks = blocks
        self.convOut = convOut
        self.chain = chain
        self.embed = embed
        blockOut = blocks.map { _ in FloatBuffer() }
    }

    convenience init(sharing other: DecoderBody) {
        self.init(
            convTranspose: ConvTranspose1d(sharing: other.convTranspose),
            blocks: other.blocks.map { DecoderBlock(sharing: $0) }, convOut: Conv1d(sharing: other.convOut),
            chain: other.chain, embed: other.embed)
    }

    /// h2t (N×T×Cd, channels last) → conv_out's output (N×T×channels): e = convtranspose1(h2t); each live block reads
    /// e (or, chained, the previous block's output); conv_out reads the last block's.
    func forward(
        _ h2t: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, batch N: Int, length T: Int, mode: ForwardMode,
        profile: StageProfile? = nil
    ) {
        let ep = e.reserve(N * T * embed)
        stage(profile, "convtranspose", flops: convTranspose.flops(length: T) * N) {
            convTranspose.forward(h2t, ep, batch: N, length: T, mode: mode)
        }
        var cur = UnsafePointer(ep)
        for (j, block) in blocks.enumerated() {
            let o = blockOut[j].reserve(N * T * embed)
            block.forward(chain ? cur : UnsafePointer(ep), out: o, batch: N, length: T, mode: mode, profile: profile)
            cur = UnsafePointer(o)
        }
        stage(profile, "conv_out", flops: convOut.flops(length: T) * N) {
            convOut.forward(cur, out, batch: N, length: T, mode: mode)
        }
    }
}
