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
    /// The top-level JSON keys (for the test that `fields` and `otherFields` cover them).
    static var codingKeys: [String] { CodingKeys.allFields }

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

    /// One numeric field of a spec file: its dotted path, valid range, unit and meaning, and how to read it (nil for
    /// an optional field that is absent). `fields` is the one table of them: validation, the unknown-field check
    /// with its suggestions and the range table of docs/environment.md (`gym-runner list --spec-fields`) all derive
    /// from it, so adding a field means its member in the struct above and its row here.
    public struct Field: Sendable {
        public enum Kind: Sendable {
            /// One number.
            case scalar
            /// A grid of the discrete action space: 1 … `maximumGridSize` strictly increasing values.
            case grid
            /// [min, max] of the continuous action space.
            case interval
        }
        public let path: String
        public let range: ClosedRange<Double>
        public let unit: String
        public let meaning: String
        public let kind: Kind
        public let optional: Bool
        let read: @Sendable (LiquidCellSpec) -> [Double]?

        init(
            _ path: String, _ range: ClosedRange<Double>, _ unit: String, _ meaning: String, kind: Kind = .scalar,
            optional: Bool = false, _ read: @escaping @Sendable (LiquidCellSpec) -> [Double]?
        ) {
            (self.path, self.range, self.unit, self.meaning, self.kind, self.optional, self.read) =
                (path, range, unit, meaning, kind, optional, read)
        }
    }

    /// Every numeric field with its valid range (units and meanings as in `docs/environment.md`). The bounds are
    /// physical (a camera's frame rates, the dose rates of LPTEM, a nanoparticle's size) and keep every step's memory,
    /// time and arithmetic bounded: the return of any valid spec is finite.
    public static let fields: [Field] = [
        Field("segmentFrames", 12...4096, "frames", "frames per segment (the model's length)") {
            [Double($0.segmentFrames)]
        },
        Field("baseFrameRate", 0.01...10_000, "frames/s", "frame rate of the decoded trajectories") {
            [$0.baseFrameRate]
        },
        Field("frameRates", 1e-4...10_000, "frames/s", "camera frame rates of the action grid", kind: .grid) {
            $0.frameRates
        },
        Field("doseRates", 1e-3...1e5, "e⁻/Å²/s", "dose rates of the action grid", kind: .grid) { $0.doseRates },
        Field("doseRateRange", 1e-3...1e5, "e⁻/Å²/s", "[min, max] dose rate of continuous actions", kind: .interval) {
            $0.doseRateRange
        },
        Field(
            "frameRateRange", 1e-4...10_000, "frames/s", "[min, max] frame rate of continuous actions", kind: .interval
        ) { $0.frameRateRange },
        Field("particle.length", 0.5...10_000, "nm", "projected rod length") { [$0.particle.length] },
        Field("particle.width", 0.5...10_000, "nm", "projected rod width") { [$0.particle.width] },
        Field(
            "scale.referenceRange", 1e-3...1e4, "nm", "largest per-axis range of a segment at the reference dose rate"
        ) {
            [$0.scale.referenceRange]
        },
        Field("scale.referenceDoseRate", 1e-3...1e5, "e⁻/Å²/s", "dose rate of the reference range") {
            [$0.scale.referenceDoseRate]
        },
        Field("scale.doseExponent", -1...1, "", "range ∝ (effective dose rate / reference)^exponent") {
            [$0.scale.doseExponent]
        },
        Field("scale.particleSpread", 0...2, "log-normal σ", "particle-to-particle range spread") {
            [$0.scale.particleSpread]
        },
        Field("scale.segmentSpread", 0...2, "log-normal σ", "segment-to-segment range spread") {
            [$0.scale.segmentSpread]
        },
        Field("latent.relaxationTime", 1e-3...1e7, "s", "relaxation time of the latent process") {
            [$0.latent.relaxationTime]
        },
        Field("latent.doseLagTime", 1e-3...1e7, "s", "lag of the effective dose rate behind the set one") {
            [$0.latent.doseLagTime]
        },
        Field("latent.nativeDoseRate", 1e-3...1e5, "e⁻/Å²/s", "dose rate of native motion (perturbation reference)") {
            [$0.latent.nativeDoseRate]
        },
        Field("noise.precisionConstant", 1e-3...1e7, "nm·e^½", "c of σ = √(c²/N + floor²)") {
            [$0.noise.precisionConstant]
        },
        Field("noise.precisionFloor", 0...1e4, "nm", "localisation floor") { [$0.noise.precisionFloor] },
        Field("noise.detectionElectrons", 1e-3...1e12, "e⁻", "detection probability 1 − exp(−N/this)") {
            [$0.noise.detectionElectrons]
        },
        Field(
            "noise.contrastSpread", 0...3, "half-normal log σ", "particle-to-particle contrast spread", optional: true
        ) { $0.noise.contrastSpread.map { [$0] } },
        Field("damage.criticalDose", 1e-3...1e9, "e⁻/Å²", "effective dose of damage 1 − 1/e") {
            [$0.damage.criticalDose]
        },
        Field("damage.shape", 0.1...20, "", "Weibull shape") { [$0.damage.shape] },
        Field("damage.doseRateExponent", 0...5, "", "β of the effective dose rate") { [$0.damage.doseRateExponent] },
        Field("damage.referenceDoseRate", 1e-3...1e5, "e⁻/Å²/s", "reference of β") { [$0.damage.referenceDoseRate] },
        Field("damage.destroyedAt", 1e-6...1, "", "damage at which the episode terminates") { [$0.damage.destroyedAt] },
        Field(
            "damage.sensitivitySpread", 0...3, "half-normal log σ", "particle-to-particle sensitivity spread",
            optional: true
        ) { $0.damage.sensitivitySpread.map { [$0] } },
        Field("reward.signalWeight", 0...1e6, "", "weight of the signal (bits)") { [$0.reward.signalWeight] },
        Field("reward.damageWeight", 0...1e6, "", "weight of the damage increment") { [$0.reward.damageWeight] },
        Field("reward.perturbationWeight", 0...1e6, "", "weight of the perturbation") {
            [$0.reward.perturbationWeight]
        },
        Field("limits.timeBudget", 1e-3...1e8, "s", "truncate at this elapsed time", optional: true) {
            $0.limits.timeBudget.map { [$0] }
        },
        Field("limits.doseBudget", 1e-3...1e12, "e⁻/Å²", "truncate at this cumulative dose", optional: true) {
            $0.limits.doseBudget.map { [$0] }
        },
        Field("limits.maxSteps", 1...1e7, "steps", "truncate after this many steps", optional: true) {
            $0.limits.maxSteps.map { [Double($0)] }
        }
    ]

    /// Valid range of every numeric field (dotted path → [min, max]), from `fields`.
    public static let bounds: [String: ClosedRange<Double>] = Dictionary(
        uniqueKeysWithValues: fields.map { ($0.path, $0.range) })
    /// Most entries of `frameRates` and of `doseRates`.
    public static let maximumGridSize = 64

    /// The fields that are not numbers (dotted paths).
    static let otherFields = ["id", "description", "checkpoint", "latent.prior"]

    /// The fields a spec file may hold, by object (`""` for the top level), from `fields` and `otherFields`.
    static let knownFields: [String: [String]] = {
        var known: [String: [String]] = ["": []]
        for path in fields.map(\.path) + otherFields {
            let parts = path.split(separator: ".", maxSplits: 1).map(String.init)
            if parts.count == 1 {
                known[""]!.append(parts[0])
            } else {
                if known[parts[0]] == nil { known[""]!.append(parts[0]) }
                known[parts[0], default: []].append(parts[1])
            }
        }
        return known
    }()

    /// The range table of docs/environment.md, generated from `fields` (`gym-runner list --spec-fields`).
    public static var fieldTable: String {
        func number(_ v: Double) -> String {
            if v == 0 { return "0" }
            let e = log10(abs(v))
            if e == e.rounded() && abs(e) >= 3 {
                let superscripts: [Character: Character] = [
                    "-": "⁻", "0": "⁰", "1": "¹", "2": "²", "3": "³", "4": "⁴", "5": "⁵", "6": "⁶", "7": "⁷", "8": "⁸",
                    "9": "⁹"
                ]
                return (v < 0 ? "−" : "") + "10" + String(String(Int(e)).map { superscripts[$0] ?? $0 })
            }
            return String(format: "%g", v).replacingOccurrences(of: "-", with: "−")
        }
        var lines = ["| field | valid range | unit | meaning |", "|---|---|---|---|"]
        for f in fields {
            var range = "\(number(f.range.lowerBound)) … \(number(f.range.upperBound))"
            switch f.kind {
            case .grid: range += "; 1 … \(maximumGridSize) values, strictly increasing"
            case .interval: range += "; [min, max], min < max"
            case .scalar: break
            }
            lines.append(
                "| `\(f.path)`\(f.optional ? " (optional)" : "") | \(range) | \(f.unit) | \(f.meaning) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

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
        try within(Double(segmentFrames), "segmentFrames")  // first: the relations below divide by them
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
        for field in LiquidCellSpec.fields where field.kind == .scalar {
            if let value = field.read(self)?.first { try within(value, field.path) }
        }
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
