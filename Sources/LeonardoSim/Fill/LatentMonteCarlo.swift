import Foundation

/// Completions of a trajectory with lost or unrecorded frames, drawn from LEONARDO by Monte Carlo in its latent space
/// (after Dao et al.'s latent exploration, paper 003: perturb the latent of an observation within the scale that
/// separates consecutive views of one particle, decode, keep what agrees with the data). docs/between-frames.md.
///
/// The model of a recording y_t (per axis, recorded frames only):
///
///     y_t = o + s·R·G(z, ξ)_t + e_t
///
/// G(z, ξ) is the decoder's trajectory for latent z ~ N(0, I) and per-frame noise ξ ~ N(0, I) (stationary decoder),
/// o, s, R the least-squares similarity (offset, scale, rotation or reflection) that puts the normalised decoder output
/// onto the recorded frames (held at its first and last recorded frames outside them), and e the part of the motion
/// the decoder does not explain. By default e is fractional Brownian motion seen through localisation noise
/// (`FractionalNoise`: real particles near a membrane are subdiffusive, H ≈ 0.43), its (D, H, r) fitted once per window
/// (maximum a posteriori under `residualPrior`, the population of the train particles); or a random walk seen through
/// localisation noise with (q, r) fitted per state (`LocalLevelSmoother`); or noise alone. Given (z, ξ) the hidden
/// frames are Gaussian (exact conditioning), and the recorded frames' likelihood is exact; (o, s, R) are profiled out.
/// A Metropolis sampler explores z (and ξ with `sampleFrameNoise`; held at 0 otherwise): by default a preconditioned
/// Crank–Nicolson move per coordinate that leaves N(0, I) invariant, its size γ_j from `calibrateStepScale` times one
/// multiplier adapted during burn-in towards `targetAcceptance`; or paper 003's uniform perturbation U[−γ_j, γ_j]
/// (`Proposal.uniform`). ξ moves by pCN too. Several chains start from the encoder's posterior of the recorded frames
/// (hidden ones linearly interpolated). The result mixes the Gaussians of the kept states: the posterior mean of every
/// hidden frame, a pointwise band of what the tracker would have recorded there, and completions drawn from it; the
/// acceptance rate and the effective sample size say how far to trust them. `Settings.useDecoder = false` skips the
/// decoder and conditions the fractional residual alone (`fillWithoutDecoder`).
public struct LatentMonteCarlo {
    /// How the latent moves.
    public enum Proposal: String, Equatable, Sendable, CaseIterable {
        /// z_j += m·γ_j·U[−1, 1]: paper 003's uniform perturbation (γ from `calibrateStepScale`).
        case uniform
        /// z_j ← √(1−b_j²)·z_j + b_j·η, b_j = min(1, m·γ_j), η ~ N(0, 1): preconditioned Crank–Nicolson (Cotter et
        /// al., Statistical Science 28, 2013), reversible for the N(0, I) prior, so it takes large steps where the
        /// recorded frames barely constrain z.
        case crankNicolson = "pcn"
    }

    /// The motion the decoder does not explain (the residual after placing its trajectory on the recorded frames).
    public enum Residual: String, Equatable, Sendable, CaseIterable {
        /// Fractional Brownian motion through localisation noise (`FractionalNoise`): (D, H, r) fitted once per
        /// window, maximum a posteriori under the sampler's `residualPrior` (maximum likelihood without one).
        case fractional = "fbm"
        /// A random walk through localisation noise (`LocalLevelSmoother`), (q, r) fitted by maximum likelihood per
        /// state.
        case randomWalk = "rw"
        /// Localisation noise alone: the decoder must explain all motion.
        case whiteNoise = "white"
    }

    /// How the sampler runs and when it refuses or warns.
    public struct Settings: Equatable, Sendable {
        /// The latent move.
        public var proposal = Proposal.crankNicolson
        /// Parallel Metropolis chains (decoded as one batch per step).
        public var chains = 16
        /// Metropolis steps per chain, burn-in included.
        public var steps = 96
        /// Steps discarded (and used to adapt the step multiplier).
        public var burnIn = 32
        /// Completions drawn from the posterior.
        public var completions = 32
        /// Acceptance rate the burn-in adapts towards.
        public var targetAcceptance = 0.3
        /// Size of the ξ move relative to the z move's multiplier (pCN: ξ' = √(1−β²)ξ + βη, β = this × multiplier).
        public var noiseStep = 0.3
        /// Whether the stationary decoder's per-frame noise ξ is sampled too (pCN) or held at zero, its median, with the
        /// motion it would add left to the residual random walk.
        public var sampleFrameNoise = false
        /// Whether the move's per-coordinate scale is re-estimated from the chains at mid burn-in (otherwise paper
        /// 003's calibrated scale is kept, only its multiplier adapted).
        public var adaptScale = true
        /// The model of the motion the decoder does not explain.
        public var residual = Residual.fractional
        /// Whether LEONARDO's latent is sampled at all. Without it (`fillWithoutDecoder`) the fractional residual
        /// alone models the recording: exact Gaussian conditioning and independent draws, milliseconds per window
        /// (docs/between-frames.md: on the test particles it scores within 0.03 nm of the sampler).
        public var useDecoder = true
        /// Whether the placed template is held at its first and last recorded frames outside them (the decoder's
        /// drift past the data is not extrapolated).
        public var holdTemplateOutsideRecorded = true
        /// Coverage of the pointwise band (0.9: the 5 % and 95 % quantiles).
        public var bandLevel = 0.9
        /// Fewest recorded frames accepted, absolutely and as a share of the frames.
        public var minimumObserved = 10
        public var minimumObservedFraction = 0.1
        /// Below this effective sample size (or an acceptance rate under 5 %) the result is flagged untrustworthy.
        public var minimumEffectiveSampleSize = 30.0
        public init() {}

        /// Throws naming the first setting out of range.
        public func validate() throws {
            func need(_ ok: Bool, _ what: String) throws { if !ok { throw LeonardoError.invalidArgument(what) } }
            try need(chains >= 2, "latent Monte Carlo needs at least 2 chains, got \(chains)")
            try need(steps > burnIn && burnIn >= 0, "steps (\(steps)) must exceed burn-in (\(burnIn)) ≥ 0")
            try need(steps - burnIn >= 4, "keep at least 4 steps after burn-in, got \(steps - burnIn)")
            try need(completions >= 1, "completions must be ≥ 1, got \(completions)")
            try need(targetAcceptance > 0 && targetAcceptance < 1, "target acceptance must lie in (0, 1)")
            try need(noiseStep >= 0 && noiseStep <= 1, "noise step must lie in [0, 1]")
            try need(bandLevel > 0 && bandLevel < 1, "band level must lie in (0, 1), got \(bandLevel)")
            try need(minimumObserved >= 3, "minimum observed frames must be ≥ 3")
            try need(
                useDecoder || residual == .fractional, "without the decoder the residual must be fbm, got \(residual)")
        }
    }

    /// The posterior of one trajectory's frames.
    public struct Result: Sendable {
        /// Frames of the trajectory.
        public var length: Int
        /// The recorded frames (true) and the filled ones.
        public var observed: [Bool]
        /// Posterior mean, T×2 (recorded frames: the recorded values).
        public var mean: [Double]
        /// Pointwise band of what the tracker would have recorded, T×2 each (recorded frames: the recorded values).
        public var lower: [Double]
        public var upper: [Double]
        /// Completions, K×T×2: draws of the whole trajectory (recorded frames kept).
        public var completions: [Double]
        /// Share of proposals accepted after burn-in, over all chains.
        public var acceptanceRate: Double
        /// Smallest effective sample size over the latent coordinates and the log target (multi-chain, Geyer).
        public var effectiveSampleSize: Double
        /// Effective sample size of each latent coordinate, then of the log target.
        public var effectiveSampleSizes: [Double]
        /// The step multiplier the burn-in settled on.
        public var stepMultiplier: Double
        /// Posterior means of the latent (each coordinate) and its spread, over the kept states.
        public var latentMean: [Double]
        public var latentSpread: [Double]
        /// The fractional residual's model, fitted once for the window (nil for the other residuals).
        public var residualModel: FractionalNoise?
        /// Median over kept states of the fitted localisation precision √r and residual step q (data units, per frame).
        public var localizationPrecision: Double
        public var residualStepVariance: Double
        /// Why the result should not be trusted (empty when it can be).
        public var warnings: [String]
        public var trustworthy: Bool { warnings.isEmpty }
    }

    public let model: Leonardo
    public var settings: Settings
    /// The population prior of the fractional residual (learned from train particles, `FractionalNoise.learnPrior`).
    public var residualPrior: FractionalNoise.Prior?
    /// Half-width γ_j of the uniform latent move per coordinate (`calibrateStepScale`).
    public var stepScale: [Double]

    /// A sampler over `model` with the per-coordinate step scale `stepScale` (latentDim values, > 0).
    public init(
        model: Leonardo, stepScale: [Double], settings: Settings = Settings(),
        residualPrior: FractionalNoise.Prior? = nil
    ) throws {
        try settings.validate()
        guard stepScale.count == model.config.latentDim, stepScale.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw LeonardoError.invalidArgument(
                "the latent step scale needs \(model.config.latentDim) positive values, got \(stepScale.count)")
        }
        self.model = model
        self.settings = settings
        self.stepScale = stepScale
        self.residualPrior = residualPrior
    }

    /// Paper 003's perturbation scale: per latent coordinate, the root-mean-square change of the encoder's posterior
    /// mean between two windows of the same particle `shift` frames apart. `trajectories` are full recordings (each at
    /// least model length + shift frames).
    public static func calibrateStepScale(model: Leonardo, trajectories set: TrajectorySet, shift: Int) throws
        -> [Double]
    {
        let T = model.config.length
        guard shift >= 1, set.length >= T + shift else {
            throw LeonardoError.invalidArgument(
                "calibrating the latent step needs trajectories of at least \(T + shift) frames, got \(set.length)")
        }
        let L = model.config.latentDim
        var first = [Float]()
        var second = [Float]()
        first.reserveCapacity(set.count * T * 2)
        second.reserveCapacity(set.count * T * 2)
        for i in 0..<set.count {
            let base = i * set.length * 2
            first += set.trajectories[base..<(base + T * 2)]
            second += set.trajectories[(base + shift * 2)..<(base + (shift + T) * 2)]
        }
        let a = model.encode(TrajectoryNormalization.normalize(first, length: T).normalized).mu
        let b = model.encode(TrajectoryNormalization.normalize(second, length: T).normalized).mu
        return (0..<L).map { j in
            var s = 0.0
            for i in 0..<set.count {
                let d = Double(a[i * L + j]) - Double(b[i * L + j])
                s += d * d
            }
            return max((s / Double(set.count)).squareRoot(), 1e-3)
        }
    }

    /// Checks one trajectory (T×2, NaN where a frame is missing; T ≤ model length) and returns its recorded mask.
    public func validate(positions: [Double], length T: Int) throws -> [Bool] {
        guard T >= 3, positions.count == T * 2 else {
            throw LeonardoError.invalidData(
                "a trajectory to fill must be T×2 values with T ≥ 3, got \(positions.count)")
        }
        guard T <= model.config.length else {
            throw LeonardoError.invalidData(
                "a trajectory to fill has \(T) frames, the model at most \(model.config.length): cut it into windows")
        }
        var observed = [Bool](repeating: false, count: T)
        for t in 0..<T {
            let x = positions[2 * t]
            let y = positions[2 * t + 1]
            if x.isNaN && y.isNaN { continue }
            guard x.isFinite, y.isFinite else {
                throw LeonardoError.invalidData(
                    "frame \(t) has a non-finite recorded value (\(x), \(y)): mark a lost frame by NaN in both x and y")
            }
            observed[t] = true
        }
        let count = observed.filter { $0 }.count
        let needed = max(settings.minimumObserved, Int((settings.minimumObservedFraction * Double(T)).rounded(.up)))
        guard count >= needed else {
            throw LeonardoError.invalidData(
                "only \(count) of \(T) frames are recorded; filling needs at least \(needed) "
                    + "(\(settings.minimumObserved) and \(Int(settings.minimumObservedFraction * 100)) % of the frames)"
            )
        }
        return observed
    }

    /// One state of the sampler: its log target and the Gaussian posterior of every frame it implies.
    struct State {
        var z: [Float]
        var noise: [Float]
        var logTarget: Double
        var logLikelihood: Double
        var mean: [Double]  // T×2
        var variance: [Double]  // T (per axis, shared): predictive variance of a recording
        var residual: [[Double]]  // per axis: recorded value minus the placed template (recorded frames)
        var template: [Double]  // T×2: the placed decoder trajectory
        var q: Double
        var r: Double
    }

    /// Draws the posterior of the hidden frames of `positions` (T×2 in data units, NaN where lost; T ≤ model length:
    /// shorter trajectories are extended by hidden frames for the model and cut back).
    public func fill(positions: [Double], rng: inout Xoshiro256StarStar) throws -> Result {
        if !settings.useDecoder { return try fillWithoutDecoder(positions: positions, rng: &rng) }
        let T0 = positions.count / 2
        let observed0 = try validate(positions: positions, length: T0)
        let T = model.config.length
        let L = model.config.latentDim
        var y = [[Double]](repeating: [Double](repeating: 0, count: T), count: 2)
        var observed = [Bool](repeating: false, count: T)
        for t in 0..<T0 where observed0[t] {
            observed[t] = true
            y[0][t] = positions[2 * t]
            y[1][t] = positions[2 * t + 1]
        }
        // The encoder sees the recorded frames with the hidden ones linearly interpolated, normalised as in training.
        let interpolated = y.map { LocalLevelSmoother.linearInterpolation($0, observed: observed) }
        var input = [Float](repeating: 0, count: T * 2)
        for t in 0..<T {
            input[2 * t] = Float(interpolated[0][t])
            input[2 * t + 1] = Float(interpolated[1][t])
        }
        let (mu, logvar) = model.encode(TrajectoryNormalization.normalize(input, length: T).normalized)
        let conditioned = try fractionalResidual(latent: mu, y: y, observed: observed)
        let C = settings.chains
        let perNoise = model.noiseCount(batch: 1)
        var states = [State]()
        var z = [Float](repeating: 0, count: C * L)
        var noise = [Float](repeating: 0, count: C * perNoise)
        for c in 0..<C {
            for j in 0..<L {
                z[c * L + j] = mu[j] + Float(exp(0.5 * Double(logvar[j])) * rng.normal())
            }
            if settings.sampleFrameNoise {
                for k in 0..<perNoise { noise[c * perNoise + k] = Float(rng.normal()) }
            }
        }
        var decoded = model.decode(z: z, noise: perNoise > 0 ? noise : nil)
        for c in 0..<C {
            states.append(
                evaluate(
                    z: Array(z[(c * L)..<((c + 1) * L)]), noise: Array(noise[(c * perNoise)..<((c + 1) * perNoise)]),
                    decoded: decoded[(c * T * 2)..<((c + 1) * T * 2)], y: y, observed: observed,
                    conditioned: conditioned))
        }
        var multiplier = 1.0
        // Per-coordinate half-widths of the move: paper 003's calibrated scale to start; at mid burn-in (when
        // `adaptScale`) replaced by the spread of the chains' states so far, scaled for a d-dimensional random walk
        // (Roberts, Gelman & Gilks 1997: 2.38/√d standard deviations; a uniform of half-width h has sd h/√3).
        var scale = stepScale
        var burnStates = [[Float]]()
        var accepted = 0
        var proposed = 0
        var kept = [State]()
        var traces = [[[Double]]](repeating: [], count: C)  // per chain: per step, (z_1 … z_L, log target)
        for step in 0..<settings.steps {
            let beta = min(1, settings.noiseStep * multiplier)
            let keep = (1 - beta * beta).squareRoot()
            for c in 0..<C {
                for j in 0..<L {
                    switch settings.proposal {
                    case .uniform:
                        z[c * L + j] = states[c].z[j] + Float(multiplier * scale[j] * rng.uniform(-1, 1))
                    case .crankNicolson:
                        let b = min(1, multiplier * stepScale[j])
                        z[c * L + j] = Float((1 - b * b).squareRoot() * Double(states[c].z[j]) + b * rng.normal())
                    }
                }
                for k in 0..<perNoise where settings.sampleFrameNoise {
                    noise[c * perNoise + k] = Float(keep * Double(states[c].noise[k]) + beta * rng.normal())
                }
            }
            decoded = model.decode(z: z, noise: perNoise > 0 ? noise : nil)
            var acceptedNow = 0
            for c in 0..<C {
                let candidate = evaluate(
                    z: Array(z[(c * L)..<((c + 1) * L)]), noise: Array(noise[(c * perNoise)..<((c + 1) * perNoise)]),
                    decoded: decoded[(c * T * 2)..<((c + 1) * T * 2)], y: y, observed: observed,
                    conditioned: conditioned)
                // Uniform z moves are symmetric: the ratio is the likelihood's times the latent prior's. pCN moves (of
                // z and of ξ) leave their N(0, I) priors invariant: the ratio is the likelihood's alone.
                let logRatio =
                    settings.proposal == .uniform
                    ? candidate.logTarget - states[c].logTarget : candidate.logLikelihood - states[c].logLikelihood
                if logRatio >= 0 || log(rng.uniformPositive()) < logRatio {
                    states[c] = candidate
                    acceptedNow += 1
                }
            }
            if step < settings.burnIn {
                if settings.proposal == .uniform && settings.adaptScale { burnStates += states.map(\.z) }
                if settings.proposal == .uniform && settings.adaptScale && step + 1 == settings.burnIn / 2
                    && burnStates.count > 2 * L
                {
                    let factor = 2.38 / Double(L).squareRoot() * 3.0.squareRoot()
                    for j in 0..<L {
                        let v = burnStates.map { Double($0[j]) }
                        let m = v.reduce(0, +) / Double(v.count)
                        let sd = (v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count - 1)).squareRoot()
                        scale[j] = max(factor * sd, 1e-3 * stepScale[j])
                    }
                    multiplier = 1
                }
                // Robbins–Monro on log multiplier towards the target acceptance; frozen after burn-in.
                let rate = Double(acceptedNow) / Double(C)
                multiplier *= exp((rate - settings.targetAcceptance) / (1 + Double(step)).squareRoot())
                multiplier = min(max(multiplier, 1e-3), 1e3)
            } else {
                accepted += acceptedNow
                proposed += C
                for c in 0..<C {
                    kept.append(states[c])
                    traces[c].append(states[c].z.map(Double.init) + [states[c].logTarget])
                }
            }
        }
        return summarize(
            kept: kept, traces: traces, observed: observed, y: y, length: T0, conditioned: conditioned,
            acceptance: Double(accepted)
                / Double(max(proposed, 1)), multiplier: multiplier, rng: &rng)
    }

    /// The posterior of the hidden frames under fractional Brownian motion through localisation noise alone (no
    /// decoder): (D, H, r) maximum a posteriori under `residualPrior`, then exact conditioning. The band is Gaussian
    /// (mean ± z·√(variance + r)); the completions are independent draws, so the effective sample size is their count.
    public func fillWithoutDecoder(positions: [Double], rng: inout Xoshiro256StarStar) throws -> Result {
        let T = positions.count / 2
        let observed = try validate(positions: positions, length: T)
        let axes = (0..<2).map { a in (0..<T).map { observed[$0] ? positions[2 * $0 + a] : 0 } }
        guard let model = FractionalNoise.fit(axes: axes, observed: observed, prior: residualPrior)?.model,
            let c = FractionalNoise.Conditioned(model: model, observed: observed)
        else {
            throw LeonardoError.invalidData(
                "fractional Brownian motion could not be fitted to the recorded frames (their covariance is singular)")
        }
        let z = FillValidation.normalQuantile(1 - (1 - settings.bandLevel) / 2)
        var mean = [Double](repeating: 0, count: T * 2)
        var lower = mean
        var upper = mean
        for a in 0..<2 {
            let m = c.mean(axes[a])
            for t in 0..<T {
                let v = observed[t] ? axes[a][t] : m[t]
                let half = observed[t] ? 0 : z * (c.variance[t] + model.noiseVariance).squareRoot()
                mean[2 * t + a] = v
                lower[2 * t + a] = v - half
                upper[2 * t + a] = v + half
            }
        }
        let K = settings.completions
        var completions = [Double](repeating: 0, count: K * T * 2)
        for k in 0..<K {
            for a in 0..<2 {
                let draw = c.sample(axes[a], recorded: true, rng: &rng)
                for t in 0..<T { completions[(k * T + t) * 2 + a] = draw[t] }
            }
        }
        return Result(
            length: T, observed: observed, mean: mean, lower: lower, upper: upper, completions: completions,
            acceptanceRate: 1, effectiveSampleSize: Double(K), effectiveSampleSizes: [], stepMultiplier: 0,
            latentMean: [], latentSpread: [], residualModel: model,
            localizationPrecision: model.noiseVariance.squareRoot(), residualStepVariance: 2 * model.diffusivity,
            warnings: [])
    }

    /// For the fractional residual: its model fitted once on the residual of the encoder's mean latent (template at
    /// ξ = 0), conditioned on the recorded frames. nil for the other residuals.
    func fractionalResidual(latent mu: [Float], y: [[Double]], observed: [Bool]) throws -> FractionalNoise.Conditioned?
    {
        guard settings.residual == .fractional else { return nil }
        let perNoise = model.noiseCount(batch: 1)
        let g = model.decode(z: mu, noise: perNoise > 0 ? [Float](repeating: 0, count: perNoise) : nil).map(Double.init)
        let residual = self.residual(of: placedTemplate(g, y: y, observed: observed), y: y, observed: observed)
        let candidates = [
            FractionalNoise.fit(axes: residual, observed: observed, prior: residualPrior)?.model, residualPrior?.typical
        ]
        for case let m? in candidates {
            if let c = FractionalNoise.Conditioned(model: m, observed: observed) { return c }
        }
        throw LeonardoError.invalidData(
            "the fractional residual could not be fitted to the recorded frames (their covariance is singular)")
    }

    /// The decoder's trajectory placed on the recorded frames (and held outside them when the settings say so).
    func placedTemplate(_ g: [Double], y: [[Double]], observed: [Bool]) -> [Double] {
        var placed = Self.placeSimilarity(template: g, onto: y, observed: observed)
        if settings.holdTemplateOutsideRecorded, let first = observed.firstIndex(of: true),
            let last = observed.lastIndex(of: true)
        {
            for t in 0..<observed.count where t < first || t > last {
                let k = t < first ? first : last
                placed[2 * t] = placed[2 * k]
                placed[2 * t + 1] = placed[2 * k + 1]
            }
        }
        return placed
    }

    /// Recorded value minus the placed template, per axis (0 at hidden frames).
    func residual(of placed: [Double], y: [[Double]], observed: [Bool]) -> [[Double]] {
        var residual = [[Double]](repeating: [Double](repeating: 0, count: observed.count), count: 2)
        for a in 0..<2 {
            for t in observed.indices where observed[t] { residual[a][t] = y[a][t] - placed[2 * t + a] }
        }
        return residual
    }

    /// The log target of (z, ξ) and the frame posterior it implies, from its decoded trajectory.
    func evaluate(
        z: [Float], noise: [Float], decoded: ArraySlice<Float>, y: [[Double]], observed: [Bool],
        conditioned: FractionalNoise.Conditioned?
    ) -> State {
        let T = observed.count
        let placed = placedTemplate(Array(decoded).map(Double.init), y: y, observed: observed)
        let residual = self.residual(of: placed, y: y, observed: observed)
        var prior = 0.0
        for v in z { prior -= 0.5 * Double(v) * Double(v) }
        var mean = [Double](repeating: 0, count: T * 2)
        var variance = [Double](repeating: 0, count: T)
        if let conditioned {
            let r = conditioned.model.noiseVariance
            var logLikelihood = 0.0
            for a in 0..<2 {
                logLikelihood += conditioned.logLikelihood(residual[a])
                let m = conditioned.mean(residual[a])
                for t in 0..<T { mean[2 * t + a] = placed[2 * t + a] + m[t] }
            }
            for t in 0..<T { variance[t] = conditioned.variance[t] + r }
            return State(
                z: z, noise: noise, logTarget: logLikelihood + prior, logLikelihood: logLikelihood, mean: mean,
                variance: variance, residual: residual, template: placed, q: 2 * conditioned.model.diffusivity, r: r)
        }
        let fit =
            settings.residual == .randomWalk
            ? LocalLevelSmoother.fit(axes: residual, observed: observed) : Self.whiteNoiseFit(residual, observed)
        for a in 0..<2 {
            let post = LocalLevelSmoother.smooth(values: residual[a], observed: observed, q: fit.q, r: fit.r)
            for t in 0..<T {
                mean[2 * t + a] = placed[2 * t + a] + post.mean[t]
                if a == 0 { variance[t] = post.variance[t] + fit.r }
            }
        }
        return State(
            z: z, noise: noise, logTarget: fit.logLikelihood + prior, logLikelihood: fit.logLikelihood, mean: mean,
            variance: variance,
            residual: residual, template: placed, q: fit.q, r: fit.r)
    }

    /// The residual as white localisation noise only (q = 0): r the mean square, the Gaussian log-likelihood.
    static func whiteNoiseFit(_ residual: [[Double]], _ observed: [Bool]) -> (
        q: Double, r: Double, logLikelihood: Double
    ) {
        var sum = 0.0
        var n = 0.0
        for axis in residual {
            for t in axis.indices where observed[t] {
                sum += axis[t] * axis[t]
                n += 1
            }
        }
        let r = max(sum / max(n, 1), 1e-12)
        return (0, r, -0.5 * n * (log(2 * Double.pi * r) + 1))
    }

    /// The least-squares similarity o + s·R·g (R a rotation or a reflection, whichever fits better; s ≥ 0) of a
    /// template (T×2) onto the recorded frames (Umeyama's solution in two dimensions). Returns the placed template.
    static func placeSimilarity(template g: [Double], onto y: [[Double]], observed: [Bool]) -> [Double] {
        let T = observed.count
        var n = 0.0
        var gx = 0.0
        var gy = 0.0
        var yx = 0.0
        var yy = 0.0
        for t in 0..<T where observed[t] {
            n += 1
            gx += g[2 * t]
            gy += g[2 * t + 1]
            yx += y[0][t]
            yy += y[1][t]
        }
        gx /= n
        gy /= n
        yx /= n
        yy /= n
        var sxx = 0.0  // Σ y_x g_x
        var sxy = 0.0  // Σ y_x g_y
        var syx = 0.0  // Σ y_y g_x
        var syy = 0.0  // Σ y_y g_y
        var gg = 0.0
        for t in 0..<T where observed[t] {
            let a = g[2 * t] - gx
            let b = g[2 * t + 1] - gy
            let u = y[0][t] - yx
            let v = y[1][t] - yy
            sxx += u * a
            sxy += u * b
            syx += v * a
            syy += v * b
            gg += a * a + b * b
        }
        // Rotation [[c, −s], [s, c]]: Σ y·Rg = c(sxx + syy) + s(syx − sxy). Reflection [[c, s], [s, −c]]:
        // Σ y·Rg = c(sxx − syy) + s(sxy + syx).
        let rotation = (sxx + syy, syx - sxy)
        let reflection = (sxx - syy, sxy + syx)
        let rotationNorm = (rotation.0 * rotation.0 + rotation.1 * rotation.1).squareRoot()
        let reflectionNorm = (reflection.0 * reflection.0 + reflection.1 * reflection.1).squareRoot()
        let reflect = reflectionNorm > rotationNorm
        let norm = max(rotationNorm, reflectionNorm)
        let (cosine, sine) =
            norm > 0
            ? (reflect ? (reflection.0 / norm, reflection.1 / norm) : (rotation.0 / norm, rotation.1 / norm)) : (1, 0)
        let scale = gg > 0 ? norm / gg : 0
        var out = [Double](repeating: 0, count: T * 2)
        for t in 0..<T {
            let a = g[2 * t] - gx
            let b = g[2 * t + 1] - gy
            if reflect {
                out[2 * t] = yx + scale * (cosine * a + sine * b)
                out[2 * t + 1] = yy + scale * (sine * a - cosine * b)
            } else {
                out[2 * t] = yx + scale * (cosine * a - sine * b)
                out[2 * t + 1] = yy + scale * (sine * a + cosine * b)
            }
        }
        return out
    }

    /// Mixes the kept states into the posterior mean, the band, the completions and the diagnostics.
    func summarize(
        kept: [State], traces: [[[Double]]], observed: [Bool], y: [[Double]], length T0: Int,
        conditioned: FractionalNoise.Conditioned?, acceptance: Double,
        multiplier: Double, rng: inout Xoshiro256StarStar
    ) -> Result {
        let L = model.config.latentDim
        let M = kept.count
        var mean = [Double](repeating: 0, count: T0 * 2)
        var lower = mean
        var upper = mean
        // The band mixes at most 512 evenly spaced kept states (the mixture's quantiles by bisection).
        let strideBand = max(1, M / 512)
        let bandStates = Swift.stride(from: 0, to: M, by: strideBand).map { kept[$0] }
        let tail = (1 - settings.bandLevel) / 2
        for t in 0..<T0 {
            for a in 0..<2 {
                if observed[t] {
                    mean[2 * t + a] = y[a][t]
                    lower[2 * t + a] = y[a][t]
                    upper[2 * t + a] = y[a][t]
                    continue
                }
                var m = 0.0
                for s in kept { m += s.mean[2 * t + a] }
                mean[2 * t + a] = m / Double(M)
                let centres = bandStates.map { $0.mean[2 * t + a] }
                let sds = bandStates.map { max($0.variance[t], 1e-300).squareRoot() }
                lower[2 * t + a] = Self.mixtureQuantile(tail, centres: centres, sds: sds)
                upper[2 * t + a] = Self.mixtureQuantile(1 - tail, centres: centres, sds: sds)
            }
        }
        // Completions: evenly spaced kept states, each with a joint draw of its residual (and localisation noise).
        let K = settings.completions
        var completions = [Double](repeating: 0, count: K * T0 * 2)
        for k in 0..<K {
            let s = kept[min(M - 1, (k * M) / K + (M / K) / 2)]
            for a in 0..<2 {
                let draw =
                    conditioned?.sample(s.residual[a], recorded: true, rng: &rng)
                    ?? LocalLevelSmoother.sample(
                        values: s.residual[a], observed: observed, q: s.q, r: s.r, recorded: true, rng: &rng)
                for t in 0..<T0 {
                    completions[(k * T0 + t) * 2 + a] = observed[t] ? y[a][t] : s.template[2 * t + a] + draw[t]
                }
            }
        }
        var latentMean = [Double](repeating: 0, count: L)
        var latentSpread = [Double](repeating: 0, count: L)
        for j in 0..<L {
            let v = kept.map { Double($0.z[j]) }
            let m = v.reduce(0, +) / Double(M)
            latentMean[j] = m
            latentSpread[j] = (v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(max(M - 1, 1))).squareRoot()
        }
        let sizes = (0...L).map { j in Self.effectiveSampleSize(traces.map { chain in chain.map { $0[j] } }) }
        let ess = sizes.min() ?? 0
        var warnings = [String]()
        if ess < settings.minimumEffectiveSampleSize {
            warnings.append(
                String(
                    format: "effective sample size %.1f is below %.0f: the band is not trustworthy (run more steps)",
                    ess,
                    settings.minimumEffectiveSampleSize))
        }
        if acceptance < 0.05 {
            warnings.append(String(format: "acceptance rate %.3f is below 0.05: the chains barely moved", acceptance))
        }
        let rs = kept.map { $0.r.squareRoot() }.sorted()
        let qs = kept.map(\.q).sorted()
        return Result(
            length: T0, observed: Array(observed[0..<T0]), mean: mean, lower: lower, upper: upper,
            completions: completions, acceptanceRate: acceptance, effectiveSampleSize: ess, effectiveSampleSizes: sizes,
            stepMultiplier: multiplier,
            latentMean: latentMean, latentSpread: latentSpread, residualModel: conditioned?.model,
            localizationPrecision: rs[M / 2],
            residualStepVariance: qs[M / 2], warnings: warnings)
    }

    /// The p-quantile of an equal-weight mixture of Gaussians, by bisection on its CDF.
    static func mixtureQuantile(_ p: Double, centres: [Double], sds: [Double]) -> Double {
        var lo = Double.infinity
        var hi = -Double.infinity
        for (m, s) in zip(centres, sds) {
            lo = min(lo, m - 9 * s)
            hi = max(hi, m + 9 * s)
        }
        let n = Double(centres.count)
        for _ in 0..<60 {
            let mid = (lo + hi) / 2
            var cdf = 0.0
            for (m, s) in zip(centres, sds) { cdf += 0.5 * erfc(-(mid - m) / (s * 2.0.squareRoot())) }
            if cdf / n < p { lo = mid } else { hi = mid }
            if hi - lo <= 1e-9 * max(1, abs(mid)) { break }
        }
        return (lo + hi) / 2
    }

    /// Effective sample size of one scalar over several chains of equal length (the multi-chain estimator of Gelman et
    /// al., *Bayesian Data Analysis*, 3rd ed., §11.5, with Geyer's initial monotone sequence of paired autocorrelations).
    public static func effectiveSampleSize(_ chains: [[Double]]) -> Double {
        let m = chains.count
        guard m >= 1, let n = chains.first?.count, n >= 4, chains.allSatisfy({ $0.count == n }) else { return 0 }
        let means = chains.map { $0.reduce(0, +) / Double(n) }
        let grand = means.reduce(0, +) / Double(m)
        var within = 0.0
        for (c, mean) in zip(chains, means) {
            within += c.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n - 1)
        }
        within /= Double(m)
        let between = m > 1 ? Double(n) * means.map { ($0 - grand) * ($0 - grand) }.reduce(0, +) / Double(m - 1) : 0
        let varPlus = Double(n - 1) / Double(n) * within + between / Double(n)
        guard varPlus > 0 else { return Double(m * n) }
        func autocovariance(_ lag: Int) -> Double {
            var s = 0.0
            for (c, mean) in zip(chains, means) {
                var a = 0.0
                for t in 0..<(n - lag) { a += (c[t] - mean) * (c[t + lag] - mean) }
                s += a / Double(n)
            }
            return s / Double(m)
        }
        let rho = { (lag: Int) -> Double in 1 - (within - autocovariance(lag)) / varPlus }
        var sum = 0.0
        var previousPair = Double.infinity
        var lag = 0
        while lag + 1 < n {
            var pair = (lag == 0 ? 1.0 : rho(lag)) + rho(lag + 1)
            if pair < 0 { break }
            pair = min(pair, previousPair)
            sum += pair
            previousPair = pair
            lag += 2
        }
        let tau = max(-1 + 2 * sum, 1.0 / log10(Double(m * n) + 10))
        return Double(m * n) / tau
    }
}
