import Foundation
import LeonardoSim

/// The versioned specification of a liquid-cell microscope scenario (a JSON file under `Environments/`).
/// Every constant of the microscope model lives here, not in code; `docs/environment.md` gives each formula
/// and its source. Field names in errors are dotted paths (e.g. `noise.precisionConstant`).
public struct LiquidCellSpec: Codable, Equatable, Sendable {
    /// Versioned ID, e.g. "LiquidCell-v0".
    public var id: String
    public var description: String
    /// LEONARDO checkpoint with a dose calibration, relative to the spec file's folder (or absolute).
    public var checkpoint: String
    /// Frames per recorded movie segment (= the model's trajectory length).
    public var segmentFrames: Int
    /// Frame rate (frames/s) of the decoded trajectories: one decoder frame per base frame.
    public var baseFrameRate: Double
    /// Camera frame rates of the discrete action grid (frames/s), each ≤ `baseFrameRate`.
    public var frameRates: [Double]
    /// Dose rates of the discrete action grid (e⁻ Å⁻² s⁻¹).
    public var doseRates: [Double]
    /// [min, max] dose rate of the continuous action space (e⁻ Å⁻² s⁻¹).
    public var doseRateRange: [Double]
    /// [min, max] frame rate of the continuous action space (frames/s).
    public var frameRateRange: [Double]

    public struct Particle: Codable, Equatable, Sendable {
        /// Projected length and width of the nanorod (nm); the projected area collects the electrons.
        public var length: Double
        public var width: Double
    }
    public var particle: Particle

    /// Scale model: normalised decoder output → nm.
    public struct Scale: Codable, Equatable, Sendable {
        /// Largest per-axis range (nm) of a segment of `segmentFrames` base frames at `referenceDoseRate`.
        public var referenceRange: Double
        public var referenceDoseRate: Double
        /// Range ∝ (effective dose rate / reference)^doseExponent.
        public var doseExponent: Double
        /// Per-episode particle-to-particle spread: range × exp(particleSpread · N(0, 1)).
        public var particleSpread: Double
        /// Segment-to-segment spread within one particle: each decoded segment's range × exp(segmentSpread · N(0, 1)),
        /// independent between segments (the experiment's window-to-window fluctuations are nearly uncorrelated).
        public var segmentSpread: Double
    }
    public var scale: Scale

    /// Latent-state dynamics (Ornstein–Uhlenbeck around the prior; dose coordinate driven by the beam).
    public struct Latent: Codable, Equatable, Sendable {
        /// Relaxation time (s) of the latent OU process.
        public var relaxationTime: Double
        /// Lag time (s) with which the effective dose rate follows the set dose rate.
        public var doseLagTime: Double
        /// Dose rate (e⁻ Å⁻² s⁻¹) at which the particle moves "natively" (reference for the perturbation penalty).
        public var nativeDoseRate: Double
        /// The latent distribution the process relaxes to: `standard` (N(0, I), the VAE prior) or `fitted` (the
        /// checkpoint's aggregate-posterior Gaussian `latent_prior`, conditioned on the dose coordinate).
        public var prior: LatentPriorChoice
    }

    /// Which latent distribution the environment's latent process relaxes to.
    public enum LatentPriorChoice: String, Codable, Sendable {
        case standard, fitted
    }
    public var latent: Latent

    /// Localisation noise and particle detection.
    public struct Noise: Codable, Equatable, Sendable {
        /// c in σ = √(c²/N + floor²) nm, N electrons per frame on the particle.
        public var precisionConstant: Double
        /// Precision floor (nm): drift and vibration that more electrons cannot remove.
        public var precisionFloor: Double
        /// Detection probability per frame 1 − exp(−N / detectionElectrons).
        public var detectionElectrons: Double
    }
    public var noise: Noise

    /// Beam damage: Weibull (multi-hit) kinetics in the effective cumulative dose.
    public struct Damage: Codable, Equatable, Sendable {
        /// D_c (e⁻ Å⁻²): effective dose at which damage reaches 1 − 1/e.
        public var criticalDose: Double
        /// k: Weibull shape (k > 1: damage accelerates as dose accumulates).
        public var shape: Double
        /// β: the effective dose accrues at doseRate · (doseRate / referenceDoseRate)^β.
        public var doseRateExponent: Double
        public var referenceDoseRate: Double
        /// Damage fraction at which the specimen counts as destroyed (episode terminates).
        public var destroyedAt: Double
    }
    public var damage: Damage

    /// Reward = signalWeight · signal − damageWeight · Δdamage − perturbationWeight · perturbation.
    public struct Reward: Codable, Equatable, Sendable {
        public var signalWeight: Double
        public var damageWeight: Double
        public var perturbationWeight: Double
    }
    public var reward: Reward

    /// Episode limits; any of them may be absent (null).
    public struct Limits: Codable, Equatable, Sendable {
        /// Truncate when the elapsed time (s) reaches this.
        public var timeBudget: Double?
        /// Truncate when the cumulative dose (e⁻ Å⁻²) reaches this.
        public var doseBudget: Double?
        /// Truncate after this many steps.
        public var maxSteps: Int?
    }
    public var limits: Limits

    /// Where the spec was read from (for resolving the checkpoint path); not part of the JSON.
    public var sourceFile: String? = nil

    private enum CodingKeys: String, CodingKey {
        case id, description, checkpoint, segmentFrames, baseFrameRate, frameRates, doseRates, doseRateRange,
            frameRateRange, particle, scale, latent, noise, damage, reward, limits
    }

    /// Reads and validates a spec file; errors name the file and the field.
    public static func load(_ path: String) throws -> LiquidCellSpec {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EnvironmentError.invalidSpec(
                file: path, field: "-", problem: "cannot read the spec file (missing or unreadable)")
        }
        var spec: LiquidCellSpec
        do { spec = try JSONDecoder().decode(LiquidCellSpec.self, from: data) } catch let DecodingError.keyNotFound(
            key, ctx)
        {
            let field = (ctx.codingPath + [key]).map { $0.stringValue }.joined(separator: ".")
            throw EnvironmentError.invalidSpec(file: path, field: field, problem: "is missing")
        } catch let DecodingError.typeMismatch(_, ctx) {
            throw EnvironmentError.invalidSpec(
                file: path, field: ctx.codingPath.map { $0.stringValue }.joined(separator: "."),
                problem: "has the wrong type (\(ctx.debugDescription))")
        } catch let DecodingError.valueNotFound(_, ctx) {
            throw EnvironmentError.invalidSpec(
                file: path, field: ctx.codingPath.map { $0.stringValue }.joined(separator: "."),
                problem: "is null but must have a value")
        } catch let DecodingError.dataCorrupted(ctx) where !ctx.codingPath.isEmpty {
            throw EnvironmentError.invalidSpec(
                file: path, field: ctx.codingPath.map { $0.stringValue }.joined(separator: "."),
                problem: "has an invalid value (\(ctx.debugDescription))")
        } catch {
            throw EnvironmentError.invalidSpec(
                file: path, field: "-", problem: "is not valid JSON (\(error.localizedDescription))")
        }
        spec.sourceFile = path
        try spec.validate(file: path)
        return spec
    }

    /// Checks every field's range; the error names the field.
    /// Largest baseFrameRate / lowest frame rate a spec may ask for: a step then decodes at most this many segments.
    public static let maximumFrameRateRatio = 64.0

    public func validate(file: String = "spec") throws {
        func check(_ ok: Bool, _ field: String, _ problem: String) throws {
            if !ok { throw EnvironmentError.invalidSpec(file: file, field: field, problem: problem) }
        }
        func positive(_ v: Double, _ field: String) throws {
            try check(v > 0 && v.isFinite, field, "must be positive and finite (got \(v))")
        }
        try check(!id.isEmpty && id.contains("-v"), "id", "must be a versioned ID such as LiquidCell-v0 (got '\(id)')")
        try check(!checkpoint.isEmpty, "checkpoint", "must name a LEONARDO checkpoint")
        try check(segmentFrames >= 12, "segmentFrames", "must be at least 12")
        try positive(baseFrameRate, "baseFrameRate")
        try check(!frameRates.isEmpty, "frameRates", "must list at least one frame rate")
        for (i, f) in frameRates.enumerated() {
            try check(
                f > 0 && f <= baseFrameRate, "frameRates[\(i)]",
                "must lie in (0, baseFrameRate = \(baseFrameRate)] (got \(f))")
        }
        try check(!doseRates.isEmpty, "doseRates", "must list at least one dose rate")
        for (i, d) in doseRates.enumerated() { try positive(d, "doseRates[\(i)]") }
        try check(
            doseRateRange.count == 2 && doseRateRange[0] > 0 && doseRateRange[0] < doseRateRange[1],
            "doseRateRange", "must be [min, max] with 0 < min < max")
        try check(
            frameRateRange.count == 2 && frameRateRange[0] > 0 && frameRateRange[0] < frameRateRange[1]
                && frameRateRange[1] <= baseFrameRate, "frameRateRange",
            "must be [min, max] with 0 < min < max ≤ baseFrameRate")
        // Each step decodes ⌈(T−1)·baseFrameRate/frameRate / T⌉ segments: the ratio bounds a step's time and memory.
        try check(
            baseFrameRate / frameRateRange[0] <= LiquidCellSpec.maximumFrameRateRatio, "frameRateRange",
            "gives baseFrameRate / min = \(baseFrameRate / frameRateRange[0]), above the bound "
                + "\(Int(LiquidCellSpec.maximumFrameRateRatio)) (each step would decode that many model segments)")
        try check(
            doseRates.allSatisfy { $0 >= doseRateRange[0] && $0 <= doseRateRange[1] }, "doseRates",
            "must lie inside doseRateRange")
        try check(
            frameRates.allSatisfy { $0 >= frameRateRange[0] && $0 <= frameRateRange[1] }, "frameRates",
            "must lie inside frameRateRange")
        try positive(particle.length, "particle.length")
        try positive(particle.width, "particle.width")
        try positive(scale.referenceRange, "scale.referenceRange")
        try positive(scale.referenceDoseRate, "scale.referenceDoseRate")
        try check(scale.doseExponent.isFinite, "scale.doseExponent", "must be finite")
        try check(scale.particleSpread >= 0 && scale.particleSpread.isFinite, "scale.particleSpread", "must be ≥ 0")
        try check(scale.segmentSpread >= 0 && scale.segmentSpread.isFinite, "scale.segmentSpread", "must be ≥ 0")
        try positive(latent.relaxationTime, "latent.relaxationTime")
        try positive(latent.doseLagTime, "latent.doseLagTime")
        try positive(latent.nativeDoseRate, "latent.nativeDoseRate")
        try positive(noise.precisionConstant, "noise.precisionConstant")
        try check(noise.precisionFloor >= 0 && noise.precisionFloor.isFinite, "noise.precisionFloor", "must be ≥ 0")
        try positive(noise.detectionElectrons, "noise.detectionElectrons")
        try positive(damage.criticalDose, "damage.criticalDose")
        try positive(damage.shape, "damage.shape")
        try check(
            damage.doseRateExponent >= 0 && damage.doseRateExponent.isFinite, "damage.doseRateExponent", "must be ≥ 0")
        try positive(damage.referenceDoseRate, "damage.referenceDoseRate")
        try check(damage.destroyedAt > 0 && damage.destroyedAt <= 1, "damage.destroyedAt", "must lie in (0, 1]")
        for (name, w) in [
            ("reward.signalWeight", reward.signalWeight), ("reward.damageWeight", reward.damageWeight),
            ("reward.perturbationWeight", reward.perturbationWeight)
        ] {
            try check(w >= 0 && w.isFinite, name, "must be ≥ 0")
        }
        if let t = limits.timeBudget { try positive(t, "limits.timeBudget") }
        if let d = limits.doseBudget { try positive(d, "limits.doseBudget") }
        if let m = limits.maxSteps { try check(m >= 1, "limits.maxSteps", "must be at least 1") }
        try check(
            limits.timeBudget != nil || limits.doseBudget != nil || limits.maxSteps != nil, "limits",
            "must set at least one of timeBudget, doseBudget, maxSteps (episodes must end)")
    }

    /// The checkpoint path resolved against the spec file's folder.
    public var resolvedCheckpoint: String {
        if checkpoint.hasPrefix("/") { return checkpoint }
        guard let sourceFile else { return checkpoint }
        return ((sourceFile as NSString).deletingLastPathComponent as NSString).appendingPathComponent(checkpoint)
    }
}
