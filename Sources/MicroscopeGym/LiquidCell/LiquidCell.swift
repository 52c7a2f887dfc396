import Foundation
import LeonardoSim

/// The liquid-cell electron microscope around the LEONARDO decoder (`LiquidCell-v0` and its relatives).
///
/// Each step the operator sets the electron dose rate and the camera frame rate and records one movie segment
/// of `segmentFrames` frames. The particle's motion comes from the decoder: a hidden 12-D latent z drifts by
/// an Ornstein–Uhlenbeck process around the prior, its dose coordinate pulled toward the value the dose
/// calibration assigns to the (lagged) effective dose rate; each decoded trajectory covers `segmentFrames`
/// base frames, consecutive ones are stitched end to start, a lower frame rate samples the stitched path at
/// every r = baseFrameRate/frameRate base frames (linear interpolation for non-integer r). Positions are put
/// in nm by the scale model, blurred by localisation noise set by the electrons per frame, and frames with
/// too few electrons lose the particle (NaN). Damage accrues with the effective cumulative dose; the reward is
/// motion information minus damage and perturbation. Formulas and sources: `docs/environment.md`.
///
/// The observation is a `DictSpace` with `segment` (T×2 observed positions, nm, NaN where the particle was
/// lost), `instrument` (normalised settings and budgets) and `features` (`LiquidCell.featureNames`).
/// Copies share the decoder (a class): step copies from one thread at a time, or use `LiquidCellVector`.
public struct LiquidCell: Environment {
    public let spec: LiquidCellSpec
    public let model: Leonardo
    public let calibration: DoseCalibration
    /// The fitted latent prior conditioned on the dose coordinate (`latent.prior` = fitted), or nil for N(0, I).
    public let conditionalPrior: ConditionalLatentPrior?
    public private(set) var observationSpace: DictSpace
    /// Whether observations carry the `privileged` key (`revealingHiddenState()`): the hidden state, for agents
    /// that measure how much knowing it is worth. Off in every registered scenario.
    public private(set) var revealsHiddenState = false
    /// The belief computed from each segment (`observingBelief`), nil when observations carry none.
    public private(set) var belief: SegmentBelief? = nil
    /// Index a = doseIndex · frameRates.count + frameRateIndex over the spec's grids.
    public let actionSpace: Discrete

    /// Names of the `instrument` entries.
    public static let instrumentNames = ["dose_rate", "frame_rate", "cumulative_dose", "damage", "elapsed_time"]
    /// Names of the `features` entries (statistics of the observed segment; `TrajectoryStatistics`, `MSD`).
    public static let featureNames = [
        "log10_mean_step_nm", "log10_step_std_nm", "step_skewness", "log10_step_kurtosis",
        "log10_median_step_nm", "vacf_1", "vacf_2", "vacf_3", "position_acf_1",
        "xy_step_correlation", "msd_exponent", "tracked_fraction"
    ]

    /// Keys of the `info` dictionary of every `reset` and `step`, sorted (units in the names; `docs/environment.md`).
    public static let infoKeys = [
        "cumulative_dose", "damage", "damage_increment", "decoded_segments", "detected_fraction", "dose_rate",
        "effective_dose_rate", "elapsed_time", "electrons_per_frame", "frame_rate", "latent_dose",
        "localization_precision_nm", "perturbation", "signal_bits_per_frame", "step_variance_nm2"
    ]
    /// Names of the `privileged` entries (`revealingHiddenState()`) for a latent of `latentDimension` coordinates:
    /// the particle's log sensitivity ln(D_c,particle / D_c) ≤ 0, log contrast ln κ ≤ 0, log range scale ln m, and
    /// the latent state (the dose coordinate and the others as `advanceLatent` keeps them).
    public static func privilegedNames(latentDimension: Int) -> [String] {
        ["log_critical_dose_ratio", "log_contrast", "log_particle_scale"] + (0..<latentDimension).map { "latent_\($0)" }
    }

    /// Keys `reset(seed:options:)` accepts.
    public static let resetOptionKeys = ["dose_rate", "frame_rate"]

    /// Index of each name of `featureNames` (features are written and read by name).
    public static let featureIndex = Dictionary(uniqueKeysWithValues: featureNames.enumerated().map { ($1, $0) })

    /// Index of a named entry of the flattened `features` + `instrument` vector (the agents' input, keys in sorted
    /// order: `FlattenObservation(keys: ["features", "instrument"])`), or nil for an unknown name.
    public static func flatIndex(of name: String) -> Int? {
        if let i = featureNames.firstIndex(of: name) { return i }
        return instrumentNames.firstIndex(of: name).map { featureNames.count + $0 }
    }

    enum Phase { case needsReset, running, ended }

    // State.
    var rng = Xoshiro256StarStar(seed: 0)
    var phase = Phase.needsReset
    var z: [Double]
    var logEffectiveDoseRate = 0.0
    var particleScale = 1.0
    /// This episode's critical dose (e⁻/Å²): `damage.criticalDose` (an intact particle's), lowered by the particle's
    /// sensitivity draw exp(−σ|N(0, 1)|) when `damage.sensitivitySpread` σ is set.
    public internal(set) var criticalDose = 0.0
    /// This episode's contrast factor κ ≤ 1 (exp(−σ|N(0, 1)|) when `noise.contrastSpread` σ is set, else 1):
    /// localisation constant c/κ, detection electrons N_det/κ².
    public internal(set) var contrast = 1.0
    var position = (0.0, 0.0)
    public internal(set) var doseRate = 0.0
    public internal(set) var frameRate = 0.0
    public internal(set) var cumulativeDose = 0.0
    public internal(set) var effectiveDose = 0.0
    public internal(set) var damage = 0.0
    public internal(set) var elapsedTime = 0.0
    public internal(set) var stepCount = 0
    /// The true (noise-free) positions of the last recorded segment, nm (T×2).
    public internal(set) var lastTrueSegment: [Double] = []

    /// Builds the environment from a spec, loading its checkpoint (which must carry a dose calibration).
    public init(spec: LiquidCellSpec) throws {
        let path = spec.resolvedCheckpoint
        let model: Leonardo
        do { model = try Leonardo.load(path) } catch {
            throw EnvironmentError.invalidSpec(
                file: spec.sourceFile ?? spec.id, field: "checkpoint", problem: "cannot be loaded: \(error)")
        }
        model.freezeWeights()  // the environment's own model only decodes
        try self.init(spec: spec, model: model)
    }

    /// Builds the environment around a given model; `calibration` defaults to the model's own.
    public init(spec: LiquidCellSpec, model: Leonardo, calibration: DoseCalibration? = nil) throws {
        try spec.validate(file: spec.sourceFile ?? spec.id)
        guard let cal = calibration ?? model.doseCalibration else {
            throw EnvironmentError.invalidSpec(
                file: spec.sourceFile ?? spec.id, field: "checkpoint",
                problem: "has no dose calibration (run gym-runner leonardo calibrate-dose)")
        }
        guard model.config.length == spec.segmentFrames, model.config.inputChannels == 2 else {
            throw EnvironmentError.invalidSpec(
                file: spec.sourceFile ?? spec.id, field: "segmentFrames",
                problem: "is \(spec.segmentFrames) but the model makes \(model.config.length)-frame 2-D trajectories")
        }
        guard cal.index < model.config.latentDim else {
            throw EnvironmentError.invalidSpec(
                file: spec.sourceFile ?? spec.id, field: "checkpoint", problem: "dose calibration index out of range")
        }
        switch spec.latent.prior {
        case .standard: conditionalPrior = nil
        case .fitted:
            guard let prior = model.latentPrior else {
                throw EnvironmentError.invalidSpec(
                    file: spec.sourceFile ?? spec.id, field: "latent.prior",
                    problem: "is 'fitted' but the checkpoint has no latent_prior (run gym-runner leonardo fit-prior)")
            }
            guard prior.dimension == model.config.latentDim else {
                throw EnvironmentError.invalidSpec(
                    file: spec.sourceFile ?? spec.id, field: "latent.prior",
                    problem:
                        "the checkpoint's latent_prior has \(prior.dimension) dimensions, the model \(model.config.latentDim)"
                )
            }
            conditionalPrior = try prior.conditioned(on: cal.index)
        }
        self.spec = spec
        self.model = model
        self.calibration = cal
        let T = spec.segmentFrames
        observationSpace = DictSpace([
            "segment": Box(shape: [T, 2], low: -.infinity, high: .infinity),
            "instrument": Box(shape: [5], low: [0, 0, 0, 0, 0], high: [1, 1, .infinity, 1, .infinity]),
            "features": Box(shape: [LiquidCell.featureNames.count], low: -.infinity, high: .infinity)
        ])
        actionSpace = Discrete(spec.doseRates.count * spec.frameRates.count)
        z = [Double](repeating: 0, count: model.config.latentDim)
        criticalDose = spec.damage.criticalDose
    }

    /// The same environment with the hidden state in every observation, under the key `privileged`
    /// (`privilegedNames`): what an agent with privileged information sees. Random streams, rewards and the other
    /// keys are unchanged.
    public func revealingHiddenState() -> LiquidCell {
        var copy = self
        copy.revealsHiddenState = true
        var spaces = observationSpace.spaces
        spaces["privileged"] = Box(
            shape: [3 + z.count], low: -.infinity, high: .infinity)
        copy.observationSpace = DictSpace(spaces)
        return copy
    }

    /// The same environment with `SegmentBelief`'s belief vector of each observed segment in every observation, under
    /// the key `belief` (`SegmentBelief.names`): what the segment says about the latent, the dose coordinate and the
    /// lost frames. Random streams, rewards and the other keys are unchanged.
    public func observingBelief(_ belief: SegmentBelief) -> LiquidCell {
        var copy = self
        copy.belief = belief
        var spaces = observationSpace.spaces
        spaces["belief"] = Box(
            shape: [SegmentBelief.names(latentDimension: model.config.latentDim).count], low: -.infinity,
            high: .infinity)
        copy.observationSpace = DictSpace(spaces)
        return copy
    }

    /// `observingBelief` with the belief of this cell's model and the shipped fill prior (`SegmentBelief(cell:)`).
    public func observingBelief() throws -> LiquidCell { observingBelief(try SegmentBelief(cell: self)) }

    /// Whether observations hold the `belief` key (`observingBelief`).
    public var observesBelief: Bool { belief != nil }

    /// The hidden state (`privilegedNames`).
    public var hiddenState: [Float] {
        [
            Float(Foundation.log(criticalDose / spec.damage.criticalDose)), Float(Foundation.log(contrast)),
            Float(Foundation.log(particleScale))
        ] + z.map { Float($0) }
    }

    /// The (dose rate, frame rate) of a discrete action.
    public func setting(for action: Int) -> (doseRate: Double, frameRate: Double) {
        (spec.doseRates[action / spec.frameRates.count], spec.frameRates[action % spec.frameRates.count])
    }

    // MARK: Environment

    /// Starts an episode. Options: `dose_rate` and `frame_rate` of the initial (search) segment; default the
    /// lowest dose rate of the grid at the highest frame rate. The search segment costs dose and time like any
    /// other (the beam is on) but earns no reward.
    public mutating func reset(seed: UInt64?, options: [String: Double]) throws -> ([String: [Float]], Info) {
        for key in options.keys.sorted() where !LiquidCell.resetOptionKeys.contains(key) {
            throw EnvironmentError.invalidResetOption(
                "unknown reset option '\(key)' (options: \(LiquidCell.resetOptionKeys.joined(separator: ", ")))")
        }
        for (key, value) in options.sorted(by: { $0.key < $1.key }) where !value.isFinite {
            throw EnvironmentError.invalidResetOption("\(key) is \(value); give a finite number")
        }
        let d0 = options["dose_rate"] ?? spec.doseRates.min()!
        let f0 = options["frame_rate"] ?? spec.frameRates.max()!
        guard d0 >= spec.doseRateRange[0] && d0 <= spec.doseRateRange[1] else {
            throw EnvironmentError.invalidResetOption(
                "dose_rate \(d0) e⁻/Å²/s outside the spec's range \(spec.doseRateRange)")
        }
        guard f0 >= spec.frameRateRange[0] && f0 <= spec.frameRateRange[1] else {
            throw EnvironmentError.invalidResetOption(
                "frame_rate \(f0) frames/s outside the spec's range \(spec.frameRateRange)")
        }
        if let seed { rng = Xoshiro256StarStar(seed: seed) }
        cumulativeDose = 0
        effectiveDose = 0
        damage = 0
        elapsedTime = 0
        stepCount = 0
        position = (0, 0)
        particleScale = Foundation.exp(spec.scale.particleSpread * rng.normal())
        logEffectiveDoseRate = Foundation.log(spec.latent.nativeDoseRate)
        for j in 0..<z.count { z[j] = rng.normal() }
        z[calibration.index] =
            calibration.latent(forDoseRate: spec.latent.nativeDoseRate) + calibration.residualStd * rng.normal()
        criticalDose = spec.damage.criticalDose * particleFactor(spread: spec.damage.sensitivitySpread)
        contrast = particleFactor(spread: spec.noise.contrastSpread)
        phase = .running
        let s = record(doseRate: d0, frameRate: f0)
        stepCount = 0
        return (s.observation, s.info)
    }

    /// A particle's factor exp(−spread·|N(0, 1)|) ≤ 1 (sensitivity, contrast); 1 without a draw when `spread` is nil
    /// or 0, so scenarios without the field keep their random streams.
    mutating func particleFactor(spread: Double?) -> Double {
        guard let spread, spread > 0 else { return 1 }
        return Foundation.exp(-spread * abs(rng.normal()))
    }

    /// Records one segment with the setting of a discrete action.
    public mutating func step(_ action: Int) throws -> Step<[String: [Float]]> {
        guard actionSpace.contains(action) else {
            throw EnvironmentError.actionOutsideSpace("\(action) is not in Discrete(\(actionSpace.n))")
        }
        let (d, f) = setting(for: action)
        return try step(doseRate: d, frameRate: f)
    }

    /// Records one segment at any dose rate and frame rate inside the spec's continuous ranges.
    public mutating func step(doseRate d: Double, frameRate f: Double) throws -> Step<[String: [Float]]> {
        switch phase {
        case .needsReset: throw EnvironmentError.stepBeforeReset
        case .ended: throw EnvironmentError.stepAfterEpisodeEnd
        case .running: break
        }
        guard d.isFinite, d >= spec.doseRateRange[0], d <= spec.doseRateRange[1] else {
            throw EnvironmentError.actionOutsideSpace("dose rate \(d) e⁻/Å²/s outside \(spec.doseRateRange)")
        }
        guard f.isFinite, f >= spec.frameRateRange[0], f <= spec.frameRateRange[1] else {
            throw EnvironmentError.actionOutsideSpace("frame rate \(f) frames/s outside \(spec.frameRateRange)")
        }
        let s = record(doseRate: d, frameRate: f)
        if s.done { phase = .ended }
        return s
    }

    // MARK: The microscope model

    /// Number of decoded segments one recorded segment at frame rate f needs.
    func segmentsNeeded(frameRate f: Double) -> Int {
        let T = spec.segmentFrames
        let r = spec.baseFrameRate / f
        let baseFrames = Int((Double(T - 1) * r).rounded(.up)) + 1
        return (baseFrames + T - 1) / T
    }

    /// Advances the latent state by one decoded segment and returns the latent to decode. The state `z` holds the
    /// dose coordinate at `calibration.index` and, at every other index, a coordinate that relaxes to N(0, 1): the
    /// latent itself under the standard prior, the whitened residual of the conditional fitted prior otherwise.
    mutating func advanceLatent(doseRate d: Double) -> [Float] {
        let dt = Double(spec.segmentFrames) / spec.baseFrameRate
        let lag = Foundation.exp(-dt / spec.latent.doseLagTime)
        logEffectiveDoseRate = Foundation.log(d) + (logEffectiveDoseRate - Foundation.log(d)) * lag
        let a = Foundation.exp(-dt / spec.latent.relaxationTime)
        let noise = (1 - a * a).squareRoot()
        let target = calibration.latent(forDoseRate: Foundation.exp(logEffectiveDoseRate))
        for j in 0..<z.count {
            if j == calibration.index {
                z[j] = target + a * (z[j] - target) + noise * calibration.residualStd * rng.normal()
            } else {
                z[j] = a * z[j] + noise * rng.normal()
            }
        }
        return conditionalPrior?.latent(fromWhitened: z) ?? z.map { Float($0) }
    }

    /// Runs the microscope for one segment: latent drift, decoding, scaling, sampling, noise, dose, damage, reward.
    mutating func record(doseRate d: Double, frameRate f: Double) -> Step<[String: [Float]]> {
        let k = segmentsNeeded(frameRate: f)
        var latents: [Float] = []
        var ranges: [Double] = []
        latents.reserveCapacity(k * z.count)
        for _ in 0..<k {
            latents += advanceLatent(doseRate: d)
            ranges.append(segmentRange())
        }
        // The stationary decoder draws its per-frame noise here (the authors' decoder draws nothing: v0/v1 unchanged).
        let decoded = model.decode(z: latents, rng: &rng)
        return finish(doseRate: d, frameRate: f, decoded: decoded, ranges: ranges)
    }

    /// Largest per-axis range (nm) of the next decoded segment under the scale model (draws its segment fluctuation).
    mutating func segmentRange() -> Double {
        let eff = Foundation.exp(logEffectiveDoseRate)
        let fluctuation = spec.scale.segmentSpread > 0 ? Foundation.exp(spec.scale.segmentSpread * rng.normal()) : 1
        return spec.scale.referenceRange * pow(eff / spec.scale.referenceDoseRate, spec.scale.doseExponent)
            * particleScale * fluctuation
    }

    /// Everything after decoding (shared with `LiquidCellVector`, which decodes many environments at once).
    mutating func finish(doseRate d: Double, frameRate f: Double, decoded: [Float], ranges: [Double]) -> Step<
        [String: [Float]]
    > {
        let T = spec.segmentFrames
        let k = ranges.count
        // Stitch decoded segments end to start: each begins one of its own steps after the previous end.
        var path = [Double](repeating: 0, count: 2 * k * T)
        var (px, py) = position
        for j in 0..<k {
            let L = ranges[j]
            let b = j * T * 2
            let x0 = Double(decoded[b])
            let y0 = Double(decoded[b + 1])
            let sx = Double(decoded[b + 2]) - x0
            let sy = Double(decoded[b + 3]) - y0
            for t in 0..<T {
                path[b + 2 * t] = px + L * (Double(decoded[b + 2 * t]) - x0 + sx)
                path[b + 2 * t + 1] = py + L * (Double(decoded[b + 2 * t + 1]) - y0 + sy)
            }
            px = path[b + 2 * T - 2]
            py = path[b + 2 * T - 1]
        }
        // Sample at the camera frame rate.
        let r = spec.baseFrameRate / f
        var truth = [Double](repeating: 0, count: 2 * T)
        for i in 0..<T {
            let u = Double(i) * r
            let lo = min(Int(u), k * T - 1)
            let hi = min(lo + 1, k * T - 1)
            let w = u - Double(lo)
            truth[2 * i] = path[2 * lo] * (1 - w) + path[2 * hi] * w
            truth[2 * i + 1] = path[2 * lo + 1] * (1 - w) + path[2 * hi + 1] * w
        }
        position = (truth[2 * T - 2], truth[2 * T - 1])
        lastTrueSegment = truth

        // Electrons per frame on the particle, localisation precision, detection.
        let electrons = electronsPerFrame(doseRate: d, frameRate: f)
        let sigma = localizationPrecision(electronsPerFrame: electrons)
        let pDetect = detectionProbability(electronsPerFrame: electrons, contrast: contrast)
        var observed = [Float](repeating: .nan, count: 2 * T)
        var detected = 0
        for i in 0..<T {
            let nx = rng.normal()
            let ny = rng.normal()
            if rng.uniform() < pDetect {
                observed[2 * i] = Float(truth[2 * i] + sigma * nx)
                observed[2 * i + 1] = Float(truth[2 * i + 1] + sigma * ny)
                detected += 1
            }
        }
        // Signal: bits of motion information per frame, ½·log₂(1 + step variance / localisation variance).
        var stepVariance = 0.0
        for i in 1..<T {
            let dx = truth[2 * i] - truth[2 * i - 2]
            let dy = truth[2 * i + 1] - truth[2 * i - 1]
            stepVariance += (dx * dx + dy * dy) / 2
        }
        stepVariance /= Double(T - 1)
        let bitsPerFrame = 0.5 * log2(1 + stepVariance / (sigma * sigma))
        let signal = bitsPerFrame * Double(detected) / Double(T)

        // Dose, effective dose and damage.
        let duration = Double(T) / f
        cumulativeDose += d * duration
        effectiveDose += effectiveDoseIncrement(doseRate: d, duration: duration)
        let previousDamage = damage
        damage = damage(effectiveDose: effectiveDose, criticalDose: criticalDose)
        let damageIncrement = damage - previousDamage
        elapsedTime += duration
        stepCount += 1
        // Perturbation: shift of the dose coordinate from its native value, in prior standard deviations.
        let effectiveDoseRate = Foundation.exp(logEffectiveDoseRate)
        let perturbation = abs(calibration.slope * log10(effectiveDoseRate / spec.latent.nativeDoseRate))
        let w = spec.reward
        let reward = w.signalWeight * signal - w.damageWeight * damageIncrement - w.perturbationWeight * perturbation

        doseRate = d
        frameRate = f
        let terminated = damage >= spec.damage.destroyedAt
        var truncated = false
        if !terminated {
            if let t = spec.limits.timeBudget, elapsedTime >= t - 1e-9 { truncated = true }
            if let b = spec.limits.doseBudget, cumulativeDose >= b - 1e-9 { truncated = true }
            if let m = spec.limits.maxSteps, stepCount >= m { truncated = true }
        }
        var obs: [String: [Float]] = [
            "segment": observed, "instrument": instrument(),
            "features": LiquidCell.features(observed, length: T, detected: detected)
        ]
        if revealsHiddenState { obs["privileged"] = hiddenState }
        if let belief { obs["belief"] = belief.features(observed, frames: T) }
        let info: Info = [
            "dose_rate": d, "frame_rate": f, "electrons_per_frame": electrons, "localization_precision_nm": sigma,
            "detected_fraction": Double(detected) / Double(T), "signal_bits_per_frame": signal,
            "damage": damage, "damage_increment": damageIncrement, "perturbation": perturbation,
            "cumulative_dose": cumulativeDose, "elapsed_time": elapsedTime,
            "effective_dose_rate": effectiveDoseRate, "latent_dose": z[calibration.index],
            "step_variance_nm2": stepVariance, "decoded_segments": Double(k)
        ]
        return Step(observation: obs, reward: reward, terminated: terminated, truncated: truncated, info: info)
    }

    /// N = doseRate [e⁻/Å²/s] × projected area [nm²] × 100 Å²/nm² / frameRate [1/s].
    public func electronsPerFrame(doseRate d: Double, frameRate f: Double) -> Double {
        d * spec.particle.length * spec.particle.width * 100 / f
    }

    /// σ = √((c/κ)²/N + floor²) (nm): photon-counting-limited localisation (Thompson, Larson & Webb 2002) plus a
    /// floor; κ is this episode's `contrast` (1 unless `noise.contrastSpread` is set).
    public func localizationPrecision(electronsPerFrame n: Double) -> Double {
        localizationPrecision(electronsPerFrame: n, contrast: contrast)
    }

    /// The same for a particle of contrast κ (1: the spec's nominal particle).
    public func localizationPrecision(electronsPerFrame n: Double, contrast κ: Double) -> Double {
        let c = spec.noise.precisionConstant / κ
        return (c * c / n + spec.noise.precisionFloor * spec.noise.precisionFloor).squareRoot()
    }

    /// P(detected) = 1 − exp(−N κ² / N₀) per frame, N₀ = `noise.detectionElectrons` (docs/environment.md).
    public func detectionProbability(electronsPerFrame n: Double, contrast κ: Double) -> Double {
        1 - Foundation.exp(-n * κ * κ / spec.noise.detectionElectrons)
    }

    /// The effective dose of `duration` seconds at dose rate d: d (d / d_ref)^p · duration (dose-rate dependence of
    /// damage; `damage.referenceDoseRate`, `damage.doseRateExponent`).
    public func effectiveDoseIncrement(doseRate d: Double, duration: Double) -> Double {
        d * pow(d / spec.damage.referenceDoseRate, spec.damage.doseRateExponent) * duration
    }

    /// Damage 1 − exp(−(E / D_c)^k) after effective dose E for a particle of critical dose D_c (Weibull law,
    /// `damage.shape` k; the spec's nominal particle has D_c = `damage.criticalDose`).
    public func damage(effectiveDose e: Double, criticalDose c: Double) -> Double {
        1 - Foundation.exp(-pow(e / c, spec.damage.shape))
    }

    func instrument() -> [Float] {
        instrumentVector(
            doseRate: doseRate, frameRate: frameRate, cumulativeDose: cumulativeDose, damage: damage,
            elapsedTime: elapsedTime)
    }

    /// The `instrument` observation for these readings (`instrumentNames`): dose and frame rate on a log scale of
    /// their ranges in [0, 1], cumulative dose over the dose budget (or the critical dose), damage, elapsed time over
    /// the time budget (or the longest episode at the highest frame rate).
    public func instrumentVector(
        doseRate: Double, frameRate: Double, cumulativeDose: Double, damage: Double, elapsedTime: Double
    ) -> [Float] {
        func unit(_ v: Double, _ range: [Double]) -> Float {
            Float(min(1, max(0, Foundation.log(v / range[0]) / Foundation.log(range[1] / range[0]))))
        }
        let doseScale = spec.limits.doseBudget ?? spec.damage.criticalDose
        let timeScale =
            spec.limits.timeBudget ?? Double(spec.limits.maxSteps ?? 1) * Double(spec.segmentFrames)
            / spec.frameRateRange[1]
        return [
            unit(doseRate, spec.doseRateRange), unit(frameRate, spec.frameRateRange), Float(cumulativeDose / doseScale),
            Float(min(1, damage)), Float(elapsedTime / timeScale)
        ]
    }
}
