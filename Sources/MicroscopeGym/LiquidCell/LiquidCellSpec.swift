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
        /// Particle-to-particle spread of contrast against the liquid: the constants above hold for a particle under
        /// the thinnest liquid layer, and the layer only thickens toward the middle of a bulging window, so each
        /// episode's particle has contrast factor κ = exp(−contrastSpread · |N(0, 1)|) ≤ 1, giving
        /// precisionConstant / κ and detectionElectrons / κ². Absent (nil) or 0: κ = 1 and no draw is made.
        public var contrastSpread: Double? = nil
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
        /// Particle-to-particle spread of beam sensitivity: `criticalDose` is an intact particle's, and each
        /// episode's particle has criticalDose × exp(−sensitivitySpread · |N(0, 1)|) (defects and a damaged ligand
        /// shell only make a particle more sensitive). Absent (nil) or 0: every particle has `criticalDose` (and no
        /// draw is made, so scenarios without the field keep their random streams).
        public var sensitivitySpread: Double? = nil
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

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case id, description, checkpoint, segmentFrames, baseFrameRate, frameRates, doseRates, doseRateRange,
            frameRateRange, particle, scale, latent, noise, damage, reward, limits
        static var allFields: [String] { allCases.map(\.rawValue) }
    }

    /// Reads and validates a spec file; errors name the file and the field.
    public static func load(_ path: String) throws -> LiquidCellSpec {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EnvironmentError.invalidSpec(
                file: path, field: "-", problem: "cannot read the spec file (missing or unreadable)")
        }
        return try decode(data, file: path)
    }

    /// Decodes and validates spec JSON (`file` names it in errors and resolves the checkpoint path).
    public static func decode(_ data: Data, file path: String) throws -> LiquidCellSpec {
        guard data.count <= 1 << 20 else {
            throw EnvironmentError.invalidSpec(file: path, field: "-", problem: "is over 1 MiB: not a spec file")
        }
        try checkKnownFields(data, file: path)
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

    /// Largest baseFrameRate / lowest frame rate a spec may ask for: a step then decodes at most this many segments.
    public static let maximumFrameRateRatio = 64.0

    /// Valid range of every numeric field (dotted path → [min, max], units in `docs/environment.md`). The bounds
    /// are physical (a camera's frame rates, the dose rates of LPTEM, a nanoparticle's size) and keep every step's
    /// memory, time and arithmetic bounded: the return of any valid spec is finite.
    public static let bounds: [String: ClosedRange<Double>] = [
        "segmentFrames": 12...4096, "baseFrameRate": 0.01...10_000, "frameRates": 1e-4...10_000,
        "doseRates": 1e-3...1e5, "doseRateRange": 1e-3...1e5, "frameRateRange": 1e-4...10_000,
        "particle.length": 0.5...10_000, "particle.width": 0.5...10_000,
        "scale.referenceRange": 1e-3...1e4, "scale.referenceDoseRate": 1e-3...1e5, "scale.doseExponent": -1...1,
        "scale.particleSpread": 0...2, "scale.segmentSpread": 0...2,
        "latent.relaxationTime": 1e-3...1e7, "latent.doseLagTime": 1e-3...1e7, "latent.nativeDoseRate": 1e-3...1e5,
        "noise.precisionConstant": 1e-3...1e7, "noise.precisionFloor": 0...1e4, "noise.detectionElectrons": 1e-3...1e12,
        "noise.contrastSpread": 0...3,
        "damage.criticalDose": 1e-3...1e9, "damage.shape": 0.1...20, "damage.doseRateExponent": 0...5,
        "damage.referenceDoseRate": 1e-3...1e5, "damage.destroyedAt": 1e-6...1, "damage.sensitivitySpread": 0...3,
        "reward.signalWeight": 0...1e6, "reward.damageWeight": 0...1e6, "reward.perturbationWeight": 0...1e6,
        "limits.timeBudget": 1e-3...1e8, "limits.doseBudget": 1e-3...1e12, "limits.maxSteps": 1...1e7
    ]
    /// Most entries of `frameRates` and of `doseRates`.
    public static let maximumGridSize = 64

    /// The fields a spec file may hold, by object (`""` for the top level).
    static let knownFields: [String: [String]] = [
        "": CodingKeys.allFields, "particle": ["length", "width"],
        "scale": ["referenceRange", "referenceDoseRate", "doseExponent", "particleSpread", "segmentSpread"],
        "latent": ["relaxationTime", "doseLagTime", "nativeDoseRate", "prior"],
        "noise": ["precisionConstant", "precisionFloor", "detectionElectrons", "contrastSpread"],
        "damage": [
            "criticalDose", "shape", "doseRateExponent", "referenceDoseRate", "destroyedAt", "sensitivitySpread"
        ],
        "reward": ["signalWeight", "damageWeight", "perturbationWeight"],
        "limits": ["timeBudget", "doseBudget", "maxSteps"]
    ]

    /// Refuses fields the spec does not have (a misspelling would otherwise be ignored), suggesting the nearest.
    static func checkKnownFields(_ data: Data, file: String) throws {
        guard let top = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return }
        let all = knownFields.flatMap { object, fields in fields.map { object.isEmpty ? $0 : object + "." + $0 } }
        func refuse(_ path: String) throws -> Never {
            let name = path.split(separator: ".").last.map(String.init) ?? path
            let nearest = all.min {
                editDistance($0.split(separator: ".").last.map(String.init) ?? $0, name)
                    < editDistance($1.split(separator: ".").last.map(String.init) ?? $1, name)
            }
            let hint =
                nearest.map { n -> String in
                    editDistance(n.split(separator: ".").last.map(String.init) ?? n, name) <= 3
                        ? " (did you mean '\(n)'?)" : ""
                } ?? ""
            throw EnvironmentError.invalidSpec(file: file, field: path, problem: "is not a spec field\(hint)")
        }
        for (key, value) in top {
            guard knownFields[""]!.contains(key) else { try refuse(key) }
            if let nested = value as? [String: Any], let fields = knownFields[key] {
                for k in nested.keys where !fields.contains(k) { try refuse(key + "." + k) }
            }
        }
    }

    /// Checks every field against its range and the relations between fields; the error names the field, the value
    /// and the valid range.
    public func validate(file: String = "spec") throws {
        func check(_ ok: Bool, _ field: String, _ problem: String) throws {
            if !ok { throw EnvironmentError.invalidSpec(file: file, field: field, problem: problem) }
        }
        func within(_ v: Double, _ field: String, bound key: String? = nil) throws {
            let r = LiquidCellSpec.bounds[key ?? field]!
            try check(
                v.isFinite && r.contains(v), field, "is \(v); it must lie in [\(r.lowerBound), \(r.upperBound)]")
        }
        func grid(_ values: [Double], _ field: String) throws {
            try check(
                !values.isEmpty && values.count <= LiquidCellSpec.maximumGridSize, field,
                "must list 1 to \(LiquidCellSpec.maximumGridSize) values (got \(values.count))")
            for (i, v) in values.enumerated() { try within(v, "\(field)[\(i)]", bound: field) }
            for i in values.indices.dropFirst() where !(values[i] > values[i - 1]) {
                throw EnvironmentError.invalidSpec(
                    file: file, field: field,
                    problem:
                        "must be strictly increasing (entries \(i - 1) and \(i) are \(values[i - 1]) and \(values[i]))")
            }
        }
        try check(!id.isEmpty && id.contains("-v"), "id", "must be a versioned ID such as LiquidCell-v0 (got '\(id)')")
        try check(!checkpoint.isEmpty, "checkpoint", "must name a LEONARDO checkpoint")
        try within(Double(segmentFrames), "segmentFrames")
        try within(baseFrameRate, "baseFrameRate")
        try grid(frameRates, "frameRates")
        try grid(doseRates, "doseRates")
        for (name, range) in [("doseRateRange", doseRateRange), ("frameRateRange", frameRateRange)] {
            try check(range.count == 2, name, "must be [min, max]")
            try within(range[0], name + "[0]", bound: name)
            try within(range[1], name + "[1]", bound: name)
            try check(range[0] < range[1], name, "must be [min, max] with min < max (got \(range))")
        }
        try check(
            frameRateRange[1] <= baseFrameRate, "frameRateRange",
            "must end at or below baseFrameRate = \(baseFrameRate) (got \(frameRateRange[1]))")
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
        let numbers: [(String, Double)] = [
            ("particle.length", particle.length), ("particle.width", particle.width),
            ("scale.referenceRange", scale.referenceRange), ("scale.referenceDoseRate", scale.referenceDoseRate),
            ("scale.doseExponent", scale.doseExponent), ("scale.particleSpread", scale.particleSpread),
            ("scale.segmentSpread", scale.segmentSpread), ("latent.relaxationTime", latent.relaxationTime),
            ("latent.doseLagTime", latent.doseLagTime), ("latent.nativeDoseRate", latent.nativeDoseRate),
            ("noise.precisionConstant", noise.precisionConstant), ("noise.precisionFloor", noise.precisionFloor),
            ("noise.detectionElectrons", noise.detectionElectrons), ("damage.criticalDose", damage.criticalDose),
            ("damage.shape", damage.shape), ("damage.doseRateExponent", damage.doseRateExponent),
            ("damage.referenceDoseRate", damage.referenceDoseRate), ("damage.destroyedAt", damage.destroyedAt),
            ("reward.signalWeight", reward.signalWeight), ("reward.damageWeight", reward.damageWeight),
            ("reward.perturbationWeight", reward.perturbationWeight)
        ]
        for (field, v) in numbers { try within(v, field) }
        if let s = damage.sensitivitySpread { try within(s, "damage.sensitivitySpread") }
        if let s = noise.contrastSpread { try within(s, "noise.contrastSpread") }
        if let t = limits.timeBudget { try within(t, "limits.timeBudget") }
        if let d = limits.doseBudget { try within(d, "limits.doseBudget") }
        if let m = limits.maxSteps { try within(Double(m), "limits.maxSteps") }
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
