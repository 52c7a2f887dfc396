import Foundation

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
    /// The arithmetic of `decode`, `encode` and training (`lossAndGradients`): the hand-written kernels (the
    /// process's default, `simd` unless `MICROSCOPEGYM_KERNELS=blas`) or the BLAS reference. Training on `simd` runs
    /// the fused attention forward and backward (AVX-512F, heads of at most 16 columns) and the dense layers'
    /// forward kernels; everything else, and every other CPU, takes the reference path.
    public var kernels = KernelChoice.processDefault
    /// When set, `lossAndGradients` and `LeonardoTrainer.step` time their parts into it (`gym-runner perf bench
    /// --layers`).
    public var trainingProfile: StageProfile?
    let objectiveBuffers = ObjectiveBuffers()

    /// Builds a model with PyTorch-default initialisation drawn from a generator seeded with `seed`.
    public init(config: LeonardoConfig = .paper, seed: UInt64 = 0) throws {
        try config.validate()
        self.config = config
        parameters = ParameterStore()
        encoder = LeonardoEncoder(parameters, config)
        decoder = LeonardoDecoder(parameters, config)
        unusedLayerNorm = (
            parameters.declare("layernorm.weight", [config.length], .constant(1)),
            parameters.declare("layernorm.bias", [config.length], .constant(0))
        )
        var rng = Xoshiro256StarStar(seed: seed)
        parameters.finalize(rng: &rng)
    }

    public var parameterCount: Int { parameters.parameterCount }

    /// Promises that the weights stay as they are (a model loaded to decode, as an environment's): see
    /// `ParameterStore.freeze`. Training or loading into it afterwards stops the program.
    public func freezeWeights() { parameters.freeze() }

    /// Per-frame noise values the decoder reads for `batch` trajectories (0 for the authors' decoder).
    public func noiseCount(batch: Int) -> Int { batch * config.length * config.frameNoiseChannels }

    /// Decodes latents z (batch×latentDim, row-major) into trajectories (batch×T×channels). Deterministic given z
    /// and, for the stationary decoder, `noise` (`noiseCount(batch:)` standard normals; required there).
    public func decode(z: [Float], noise: [Float]? = nil) -> [Float] {
        let L = config.latentDim
        precondition(z.count % L == 0, "z must hold batch × \(L) values")
        let n = z.count / L
        precondition(
            (noise?.count ?? 0) >= noiseCount(batch: n),
            "the stationary decoder needs \(noiseCount(batch: n)) noise values")
        var out = [Float](repeating: 0, count: n * config.length * config.inputChannels)
        z.withUnsafeBufferPointer { zp in
            out.withUnsafeMutableBufferPointer { op in
                if let noise {
                    noise.withUnsafeBufferPointer { np in
                        decode(z: zp.baseAddress!, noise: np.baseAddress, out: op.baseAddress!, batch: n)
                    }
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
    public func decode(
        z: UnsafePointer<Float>, noise: UnsafePointer<Float>? = nil, out: UnsafeMutablePointer<Float>, batch n: Int
    ) {
        let L = config.latentDim
        let step = config.length * config.inputChannels
        let perNoise = config.length * config.frameNoiseChannels
        var start = 0
        parameters.withWeightsFrozen {
            while start < n {
                let m = min(decodeChunk, n - start)
                decoder.forward(
                    z + start * L, noise: noise.map { $0 + start * perNoise }, out: out + start * step, batch: m,
                    mode: .inference(kernels))
                start += m
            }
        }
    }

    /// Encodes trajectories (batch×T×channels) to the posterior mean and log-variance (batch×latentDim each).
    public func encode(_ r: [Float]) -> (mu: [Float], logvar: [Float]) {
        let step = config.length * config.inputChannels
        let L = config.latentDim
        precondition(
            r.count % step == 0, "trajectories must hold batch × \(config.length) × \(config.inputChannels) values")
        let n = r.count / step
        var mu = [Float](repeating: 0, count: n * L)
        var lv = [Float](repeating: 0, count: n * L)
        r.withUnsafeBufferPointer { rp in
            mu.withUnsafeMutableBufferPointer { mp in
                lv.withUnsafeMutableBufferPointer { lp in
                    var start = 0
                    while start < n {
                        let m = min(decodeChunk, n - start)
                        encoder.forward(
                            rp.baseAddress! + start * step, mu: mp.baseAddress! + start * L,
                            logvar: lp.baseAddress! + start * L, batch: m, mode: .inference(kernels))
                        start += m
                    }
                }
            }
        }
        return (mu, lv)
    }
}
