import Foundation
import LeonardoSim

/// What an observed segment says about the particle and the frames it missed: the fill of the lost frames by
/// fractional Brownian motion through localisation noise, and the encoder's posterior of the latent (docs/between-
/// frames.md, "In the environment").
///
/// The fill: per axis, y_t = m + B_H(t) + v_t with Var[B_H(t) − B_H(s)] = 2D·|t − s|^{2H} and v_t ~ N(0, r)
/// (`FractionalNoise`). H is the population's typical Hurst exponent (the centre of the shipped fill prior, learned
/// from the real train particles by `gym-runner fill learn-prior`); D and r come from the segment itself, by the
/// variogram: the mean squared increment v_k of tracked frame pairs at lag k (both axes pooled) is 2D·k^{2H} + 2r,
/// fitted by least squares over k = 1 … `maximumLag`, each lag weighted by its pairs over γ_k², γ the fitted variogram
/// (iteratively reweighted; Matheron's estimator with Cressie's weights: Cressie, *Statistics for Spatial Data*, 1993,
/// §2.4 and §2.6.2). A negative slope means no visible motion (all noise), a negative intercept no visible noise (the
/// fit through the origin); then D ≥ 10⁻³·v₁/2 and r ≥ 10⁻³·D. Lags up to 16 matter: at a high frame rate and low dose
/// the motion between neighbouring frames is buried in the noise, and only the longer lags show it. Estimated per
/// segment, D and r are in the segment's own units and frame interval, whatever the frame rate. Lost frames take the
/// posterior mean given the tracked frames (universal kriging, the offset m unknown). The uncertainty of a tracked
/// frame is √r (the recorded value's error), that of a lost frame √(σ²_post + r): the error of the fill against the
/// value a tracker would have recorded there, the band `gym-runner fill validate` checks on the real test particles.
/// (r also absorbs motion faster than fBm with the population's H can describe, so √σ²_post alone is too narrow:
/// docs/between-frames.md, "In the environment".)
///
/// The belief: the encoder's posterior N(μ, diag σ²) of the filled segment, normalised as in training, and what it
/// implies for the dose coordinate (the calibrated latent, `DoseCalibration`): log₁₀ dose rate (μ_d − b)/a and its
/// standard deviation σ_d/|a|, plus log₁₀ √r, log₁₀ √(2D) and log₁₀ of the mean uncertainty of the lost frames.
public struct SegmentBelief {
    public let model: Leonardo
    public let calibration: DoseCalibration
    /// The Hurst exponent of the fill.
    public let hurst: Double
    /// Fewer tracked frames than this: no fill (lost frames hold as in `HoldLostFrames`, uncertainty `unknown`) and
    /// the belief is the latent prior N(0, I).
    public static let minimumTracked = 5
    /// The uncertainty (nm) of frames no model could fill.
    public static var unknown: Float { HoldLostFrames<LiquidCell>.bound }
    /// The shipped fill prior, whose centre gives `hurst`.
    public static var defaultPriorPath: String { priorPath(inEnvironments: EnvironmentRegistry.directory) }

    /// The fill prior of an environments folder (`models/fill-residual-prior-v1.json` in it).
    public static func priorPath(inEnvironments folder: String) -> String {
        (folder as NSString).appendingPathComponent("models/fill-residual-prior-v1.json")
    }

    /// A belief over segments of `model.config.length` frames; `hurst` in (0, 1).
    public init(model: Leonardo, calibration: DoseCalibration, hurst: Double) throws {
        guard hurst > 0, hurst < 1 else {
            throw EnvironmentError.invalidArgument("the fill's Hurst exponent must lie in (0, 1), got \(hurst)")
        }
        self.model = model
        self.calibration = calibration
        self.hurst = hurst
    }

    /// The belief of `cell`'s model, with the Hurst exponent of the fill prior at `priorPath` (default: the shipped
    /// one).
    public init(cell: LiquidCell, priorPath: String? = nil) throws {
        let path = priorPath ?? SegmentBelief.defaultPriorPath
        let prior: FractionalNoise.Prior
        do {
            prior = try FractionalNoise.Prior.read(path)
        } catch {
            throw EnvironmentError.invalidArgument("belief features need the fill prior: \(error)")
        }
        guard cell.model.config.length == cell.spec.segmentFrames, cell.model.config.inputChannels == 2 else {
            throw EnvironmentError.invalidArgument(
                "belief features need segments of the model's \(cell.model.config.length) frames, "
                    + "\(cell.spec.id) has \(cell.spec.segmentFrames)")
        }
        try self.init(model: cell.model, calibration: cell.calibration, hurst: prior.typical.hurst)
    }

    /// Names of the belief vector's entries.
    public static func names(latentDimension L: Int) -> [String] {
        (0..<L).map { "latent_mean_\($0)" } + (0..<L).map { "latent_log_sd_\($0)" } + [
            "dose_belief_log10_dose_rate", "dose_belief_log10_sd", "log10_localization_noise_nm",
            "log10_step_scale_nm", "log10_fill_uncertainty_nm"
        ]
    }

    /// The fill of one segment.
    public struct Fill: Equatable {
        /// T×2 positions: recorded values where tracked, the posterior mean elsewhere (held, when no fill).
        public var positions: [Float]
        /// Per frame, the standard deviation (nm) of the value's error: √r where tracked, √(σ²_post + r) where lost
        /// (type doc), `SegmentBelief.unknown` without a fill.
        public var uncertainty: [Float]
        /// 1 where tracked.
        public var tracked: [Float]
        /// The model the fill used; nil when there was none (fewer than `minimumTracked` tracked frames, or no
        /// positive-definite covariance).
        public var model: FractionalNoise?
        /// Mean uncertainty of the lost frames (0 when none was lost).
        public var lostUncertainty: Double
    }

    /// The fill of `segment` (T×2, NaN where lost).
    public func fill(_ segment: [Float], frames T: Int) -> Fill {
        precondition(segment.count == 2 * T, "a segment holds T×2 values")
        let held = HoldLostFrames<LiquidCell>.transform(["segment": segment], frames: T)
        let tracked = held["tracked"]!
        var out = Fill(
            positions: held["segment"]!, uncertainty: [Float](repeating: SegmentBelief.unknown, count: T),
            tracked: tracked, model: nil, lostUncertainty: 0)
        let observed = tracked.map { $0 > 0 }
        let n = observed.filter { $0 }.count
        guard n >= SegmentBelief.minimumTracked, let noise = variogramEstimate(segment, observed: observed) else {
            return out
        }
        out.model = noise
        let sd = Float(noise.noiseVariance.squareRoot())
        guard n < T else {
            out.uncertainty = [Float](repeating: sd, count: T)
            return out
        }
        guard let conditioned = FractionalNoise.Conditioned(model: noise, observed: observed) else {
            out.model = nil
            return out
        }
        for axis in 0..<2 {
            let values = (0..<T).map { observed[$0] ? Double(segment[2 * $0 + axis]) : 0 }
            let mean = conditioned.mean(values)
            for t in 0..<T where !observed[t] { out.positions[2 * t + axis] = Float(mean[t]) }
        }
        var lost = 0.0
        for t in 0..<T {
            if observed[t] {
                out.uncertainty[t] = sd
            } else {
                let s = (conditioned.variance[t] + noise.noiseVariance).squareRoot()
                out.uncertainty[t] = Float(s)
                lost += s
            }
        }
        out.lostUncertainty = lost / Double(T - n)
        return out
    }

    /// Longest lag of the variogram fit.
    public static let maximumLag = 16

    /// Reweighting rounds of the variogram fit.
    static let reweightingRounds = 3

    /// (D, H, r) by a weighted least-squares fit of the variogram (type doc); nil when fewer than 3 lags have a
    /// tracked pair with a non-zero increment.
    func variogramEstimate(_ segment: [Float], observed: [Bool]) -> FractionalNoise? {
        let T = observed.count
        let K = min(SegmentBelief.maximumLag, T - 1)
        guard K >= 1 else { return nil }
        // The sample variogram: per lag k, x = k^{2H}, v = mean squared increment, n = pairs (both axes).
        var x: [Double] = []
        var v: [Double] = []
        var n: [Double] = []
        for k in 1...K {
            var sum = 0.0
            var count = 0
            for t in 0..<(T - k) where observed[t] && observed[t + k] {
                for axis in 0..<2 {
                    let d = Double(segment[2 * (t + k) + axis]) - Double(segment[2 * t + axis])
                    sum += d * d
                }
                count += 2
            }
            guard count > 0, sum > 0, sum.isFinite else { continue }
            x.append(pow(Double(k), 2 * hurst))
            v.append(sum / Double(count))
            n.append(Double(count))
        }
        guard v.count >= 3 else { return nil }
        let v1 = v[0]
        // Weighted least squares of v = a·x + b (a = 2D, b = 2r). Cressie's weights n/γ², γ the model's variogram
        // (Var v_k ≈ 2γ_k²/n_k): the first round uses the sample values, later rounds the previous fit's, which
        // removes the bias of weighting by the noisy sample values themselves.
        var model = v
        var a = 0.0
        var b = 0.0
        for _ in 0..<SegmentBelief.reweightingRounds {
            var (sw, sx, sy, sxx, sxy) = (0.0, 0.0, 0.0, 0.0, 0.0)
            for j in v.indices {
                let w = n[j] / (model[j] * model[j])
                sw += w
                sx += w * x[j]
                sy += w * v[j]
                sxx += w * x[j] * x[j]
                sxy += w * x[j] * v[j]
            }
            let det = sw * sxx - sx * sx
            guard det > 0 else { return nil }
            a = (sw * sxy - sx * sy) / det
            b = (sy - a * sx) / sw
            if a <= 0 {  // no motion visible: all noise
                a = 0
                b = sy / sw
            }
            if b < 0 {  // no noise visible: all motion, through the origin
                a = sxy / sxx
                b = 0
            }
            let floor = 1e-3 * v1
            for j in v.indices { model[j] = max(a * x[j] + b, floor) }
        }
        let D = max(a / 2, 1e-3 * v1 / 2)
        let r = max(b / 2, 1e-3 * D)
        return FractionalNoise(diffusivity: D, hurst: hurst, noiseVariance: r)
    }

    /// The belief vector (`names(latentDimension:)`) of a fill.
    public func features(of fill: Fill, frames T: Int) -> [Float] {
        let L = model.config.latentDim
        var mu = [Float](repeating: 0, count: L)
        var logSD = [Float](repeating: 0, count: L)
        if fill.model != nil, T == model.config.length {
            let (m, lv) = model.encode(TrajectoryNormalization.normalize(fill.positions, length: T).normalized)
            mu = m
            logSD = lv.map { $0 / 2 }
        }
        let i = calibration.index
        let doseMean = (Double(mu[i]) - calibration.intercept) / calibration.slope
        let doseSD = exp(Double(logSD[i])) / abs(calibration.slope)
        let noiseSD = fill.model.map { log10($0.noiseVariance.squareRoot() + 0.01) } ?? 0
        let stepScale = fill.model.map { log10((2 * $0.diffusivity).squareRoot() + 0.01) } ?? 0
        let lostSD = fill.model == nil ? 0 : log10(fill.lostUncertainty + 0.01)
        let tail = [doseMean, doseSD, noiseSD, stepScale, lostSD].map { Float(max(-1e6, min(1e6, $0))) }
        return (mu + logSD).map { $0.isFinite ? $0 : 0 } + tail
    }

    /// The belief vector of `segment` (T×2, NaN where lost).
    public func features(_ segment: [Float], frames T: Int) -> [Float] {
        features(of: fill(segment, frames: T), frames: T)
    }

    /// How a fill of one recorded segment compares with the true positions: sums over the lost coordinates.
    public struct Score: Sendable {
        /// Lost coordinates (two per lost frame).
        public var lost = 0
        /// Σ squared error of the fill, of holding the last tracked position, of linear interpolation.
        public var filledSquaredError = 0.0
        public var heldSquaredError = 0.0
        public var linearSquaredError = 0.0
        /// Lost coordinates with a band (the fill had a model), and those inside its central band of `level`
        /// (Gaussian: ±z·uncertainty).
        public var banded = 0
        public var covered = 0
        /// Tracked coordinates; those of them with a band (the fill had a model), and those whose recorded value is
        /// within ±z·√r of the truth (the noise estimate's calibration).
        public var tracked = 0
        public var trackedBanded = 0
        public var trackedCovered = 0
        /// Whether the fill had a model (otherwise it held the last position).
        public var modelled = false

        /// An empty score (zero sums).
        public init() {}
    }

    /// The score of the fill of `segment` (T×2, NaN where lost) against `truth` (T×2); nil when no frame was lost
    /// or none was tracked. `level` is the band's coverage (0.9: ±1.645 uncertainties).
    public func score(_ segment: [Float], truth: [Float], frames T: Int, level: Double = 0.9) -> Score? {
        precondition(segment.count == 2 * T && truth.count == 2 * T, "segment and truth hold T×2 values")
        let observed = (0..<T).map { !segment[2 * $0].isNaN && !segment[2 * $0 + 1].isNaN }
        guard observed.contains(true), observed.contains(false) else { return nil }
        let z = FillValidation.normalQuantile(0.5 + level / 2)
        let filled = fill(segment, frames: T)
        let held = HoldLostFrames<LiquidCell>.transform(["segment": segment], frames: T)["segment"]!
        var s = Score()
        s.modelled = filled.model != nil
        for axis in 0..<2 {
            let y = (0..<T).map { observed[$0] ? Double(segment[2 * $0 + axis]) : 0 }
            let linear = LocalLevelSmoother.linearInterpolation(y, observed: observed)
            for t in 0..<T {
                let truePosition = Double(truth[2 * t + axis])
                let e = Double(filled.positions[2 * t + axis]) - truePosition
                if observed[t] {
                    s.tracked += 1
                    if s.modelled {
                        s.trackedBanded += 1
                        if abs(e) < z * Double(filled.uncertainty[t]) { s.trackedCovered += 1 }
                    }
                    continue
                }
                s.lost += 1
                s.filledSquaredError += e * e
                let h = Double(held[2 * t + axis]) - truePosition
                s.heldSquaredError += h * h
                let l = linear[t] - truePosition
                s.linearSquaredError += l * l
                guard s.modelled else { continue }
                s.banded += 1
                if abs(e) < z * Double(filled.uncertainty[t]) { s.covered += 1 }
            }
        }
        return s
    }
}

/// Fills the lost frames of a `LiquidCell`-like observation with their posterior mean under `SegmentBelief`'s
/// fractional-noise model and adds what an agent needs to weigh them (beside `HoldLostFrames`, which holds the last
/// position instead):
///
/// - `segment` (T×2, nm): recorded positions where tracked, the posterior mean where lost (held, as in
///   `HoldLostFrames`, when fewer than `SegmentBelief.minimumTracked` frames are tracked);
/// - `tracked` (T): 1 where detected;
/// - `uncertainty` (T, nm): the standard deviation of each value's error (√r where tracked, √(σ²_post + r) where
///   lost, `SegmentBelief.unknown` where no fill was possible; `SegmentBelief`);
/// - `belief` (`SegmentBelief.names`): the encoder's posterior of the latent and the dose coordinate, and the fill's
///   noise, step scale and lost-frame uncertainty.
///
/// Other keys are unchanged; every value is clipped to ±`HoldLostFrames.bound` and the space is bounded, as with
/// `HoldLostFrames`, so Gymnasium's checker accepts it.
public struct FillLostFrames<Base: Environment>: ObservationWrapper
where Base.ObservationSpace == DictSpace, Base.Observation == [String: [Float]] {
    public var base: Base
    public let observationSpace: DictSpace
    public let frames: Int
    public let belief: SegmentBelief

    /// Wraps `base`, whose observation must have a `segment` box of shape [T, 2] and none of the added keys.
    public init(_ base: Base, belief: SegmentBelief) throws {
        guard let segment = base.observationSpace.spaces["segment"], segment.shape.count == 2, segment.shape[1] == 2
        else {
            throw EnvironmentError.incompatibleSpaces("FillLostFrames needs a 'segment' observation of shape [T, 2]")
        }
        for key in ["tracked", "uncertainty", "belief"] where base.observationSpace.spaces[key] != nil {
            throw EnvironmentError.incompatibleSpaces("the observation already has a '\(key)' key")
        }
        self.base = base
        self.belief = belief
        frames = segment.shape[0]
        observationSpace = FillLostFrames.space(
            base.observationSpace, frames: frames,
            beliefCount: SegmentBelief.names(
                latentDimension: belief.model.config.latentDim
            ).count)
    }

    /// The wrapped space: `HoldLostFrames.space` plus `uncertainty` in [0, bound] and `belief` in ±bound.
    public static func space(_ base: DictSpace, frames: Int, beliefCount: Int) -> DictSpace {
        let bound = HoldLostFrames<Base>.bound
        var spaces = HoldLostFrames<Base>.space(base, frames: frames).spaces
        spaces["uncertainty"] = Box(shape: [frames], low: 0, high: bound)
        spaces["belief"] = Box(shape: [beliefCount], low: -bound, high: bound)
        return DictSpace(spaces)
    }

    public func observation(_ o: [String: [Float]]) -> [String: [Float]] {
        FillLostFrames.transform(o, frames: frames, belief: belief)
    }

    /// The transformation itself (the C library applies it to every environment of a vector).
    public static func transform(_ o: [String: [Float]], frames T: Int, belief: SegmentBelief) -> [String: [Float]] {
        guard let segment = o["segment"], segment.count == 2 * T else { return o }
        var out = HoldLostFrames<Base>.transform(o, frames: T)
        let fill = belief.fill(segment, frames: T)
        let bound = HoldLostFrames<Base>.bound
        let clip = { (v: Float) -> Float in v.isFinite ? min(bound, max(-bound, v)) : 0 }
        out["segment"] = fill.positions.map(clip)
        out["uncertainty"] = fill.uncertainty.map(clip)
        out["belief"] = belief.features(of: fill, frames: T).map(clip)
        return out
    }
}
