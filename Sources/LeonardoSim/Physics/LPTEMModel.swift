import Foundation

/// A coding key for any string (used to find unknown fields).
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// A dose-dependent generator of LPTEM-like gold-nanorod trajectories (positions in nm, one frame per time
/// step), a stand-in for the experimental data set LEONARDO was trained on.
///
/// The model mixes the behaviours reported for nanoparticles near the membrane of a liquid cell
/// (Jamali et al., PNAS 118, e2017616118, 2021; Chee et al., J. Phys. Chem. C 2016; Woehl & Prozorov,
/// J. Phys. Chem. C 119, 21261, 2015; Shabeb, Goyal & Jamali, Microsc. Microanal. 2024):
///
/// * **Caged phase.** The particle sits in a trap at centre c. Its offset u from the centre follows
///   u_{t+1} = (1 − κ) u_t + σ_c ξ_t with ξ fractional Gaussian noise of Hurst exponent H < ½, i.e.
///   viscoelastic, anti-correlated motion (FBM-like, α = 2H < 1) held by a harmonic restoring force of
///   stiffness κ (per frame).
/// * **Residence times** in a trap are heavy-tailed (CTRW-like): τ = τ_c U^{−1/a_c}, a Pareto law with
///   tail exponent a_c and scale τ_c.
/// * **Escapes.** On leaving a trap the particle travels for a geometric number of frames (mean 1/p_e)
///   with drift L/n_e in a random direction (total hop length L = ℓ·e^{s_L N(0,1)}) plus Gaussian steps of
///   size σ_m per axis, then is caught by a new trap where it stands. The alternation of the two phases is
///   the regime switching seen in LPTEM trajectories.
/// * **Particle heterogeneity.** Each trajectory draws a mobility scale m = e^{h N(0,1)} that multiplies
///   every length (cage noise, hop, mobile steps, localisation error).
/// * **Localisation error** of the recorded positions: Gaussian, σ_loc·m per axis per frame.
///
/// **Dose.** With r = doseRate / referenceDoseRate (e⁻ Å⁻² s⁻¹), the beam weakens pinning and drives
/// escapes (radiolysis and charging; Woehl & Prozorov 2015, Jamali et al. 2021, LEONARDO section 4.5: higher
/// dose, more frequent escapes):
/// τ_c ∝ r^{−e_τ} (traps release sooner), ℓ and σ_m ∝ r^{e_ℓ} (longer hops), κ ∝ r^{−e_κ} (softer traps),
/// σ_c ∝ r^{e_σ}. All exponents are positive, so every effect is monotone in dose rate.
///
/// The reference-condition values are calibrated against the 300 experimental trajectories shipped in
/// `data/aunr_lptem_300.h5` (see `docs/trajectory-physics.md` for the comparison table).
public struct LPTEMModel: Codable, Equatable, Sendable {
    /// Dose rate (e⁻ Å⁻² s⁻¹) at which the parameters below hold and the model matches the experimental data.
    public var referenceDoseRate = 10.0
    /// h: standard deviation of the log mobility scale across particles.
    public var heterogeneity = 0.59
    /// Range of the in-cage Hurst exponent H (uniform).
    public var hurstRange: [Double] = [0.25, 0.45]
    /// σ_c (nm): amplitude of the in-cage fractional noise at the reference dose.
    public var cageNoise = 1.68
    /// κ: trap stiffness per frame at the reference dose (0 < κ ≤ 1).
    public var trapStiffness = 0.35
    /// τ_c (frames): scale of the Pareto residence time at the reference dose.
    public var cageTime = 4.8
    /// a_c: tail exponent of the residence-time distribution.
    public var cageTimeTail = 0.63
    /// ℓ (nm): median hop length at the reference dose.
    public var hopLength = 2.3
    /// s_L: log-normal spread of hop lengths.
    public var hopSpread = 0.34
    /// σ_m (nm): Gaussian step per axis during an escape at the reference dose.
    public var mobileNoise = 11.0
    /// p_e: per-frame probability that an escape ends (escapes last 1/p_e frames on average).
    public var escapeEndProbability = 0.15
    /// σ_loc (nm): localisation error per axis of the tracked positions.
    public var localizationError = 1.62
    /// e_τ: residence times scale as r^{−e_τ}.
    public var escapeExponent = 0.5
    /// e_ℓ: hop lengths and mobile steps scale as r^{e_ℓ}.
    public var hopExponent = 0.25
    /// e_κ: trap stiffness scales as r^{−e_κ}.
    public var stiffnessExponent = 0.3
    /// e_σ: in-cage noise scales as r^{e_σ}.
    public var cageNoiseExponent = 0.1

    public init() {}

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case referenceDoseRate, heterogeneity, hurstRange, cageNoise, trapStiffness, cageTime, cageTimeTail, hopLength,
            hopSpread, mobileNoise, escapeEndProbability, localizationError, escapeExponent, hopExponent,
            stiffnessExponent, cageNoiseExponent
    }

    /// Decodes a JSON object whose fields override the calibrated defaults; absent fields keep their default.
    /// Unknown fields are rejected by name (a typo would otherwise silently keep the default).
    public init(from decoder: Decoder) throws {
        let any = try decoder.container(keyedBy: AnyKey.self)
        for key in any.allKeys where CodingKeys(rawValue: key.stringValue) == nil {
            throw LeonardoError.invalidArgument("LPTEM model: unknown field '\(key.stringValue)'")
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func take(_ value: inout Double, _ key: CodingKeys) throws {
            if let v = try c.decodeIfPresent(Double.self, forKey: key) { value = v }
        }
        try take(&referenceDoseRate, .referenceDoseRate)
        try take(&heterogeneity, .heterogeneity)
        if let v = try c.decodeIfPresent([Double].self, forKey: .hurstRange) { hurstRange = v }
        try take(&cageNoise, .cageNoise)
        try take(&trapStiffness, .trapStiffness)
        try take(&cageTime, .cageTime)
        try take(&cageTimeTail, .cageTimeTail)
        try take(&hopLength, .hopLength)
        try take(&hopSpread, .hopSpread)
        try take(&mobileNoise, .mobileNoise)
        try take(&escapeEndProbability, .escapeEndProbability)
        try take(&localizationError, .localizationError)
        try take(&escapeExponent, .escapeExponent)
        try take(&hopExponent, .hopExponent)
        try take(&stiffnessExponent, .stiffnessExponent)
        try take(&cageNoiseExponent, .cageNoiseExponent)
    }

    /// Checks every parameter; the error names the field.
    public func validate() throws {
        func check(_ ok: Bool, _ field: String, _ what: String) throws {
            if !ok { throw LeonardoError.invalidArgument("LPTEM model: '\(field)' \(what)") }
        }
        // Physical ranges (nm, frames, e⁻/Å²/s); they also keep a trajectory of 10⁵ frames at dose rates up to 10⁵
        // finite: every dose factor (rate / reference)^exponent stays below 10⁴⁰.
        func within(_ v: Double, _ field: String, _ r: ClosedRange<Double>) throws {
            try check(v.isFinite && r.contains(v), field, "is \(v); it must lie in [\(r.lowerBound), \(r.upperBound)]")
        }
        try within(referenceDoseRate, "referenceDoseRate", 1e-3...1e5)
        try within(heterogeneity, "heterogeneity", 0...3)
        try check(
            hurstRange.count == 2 && hurstRange[0] > 0 && hurstRange[1] < 1 && hurstRange[0] <= hurstRange[1],
            "hurstRange", "must be [low, high] inside (0, 1)")
        try within(cageNoise, "cageNoise", 0...1e4)
        try check(trapStiffness > 0 && trapStiffness <= 1, "trapStiffness", "must lie in (0, 1]")
        try within(cageTime, "cageTime", 1e-3...1e6)
        try within(cageTimeTail, "cageTimeTail", 1e-2...10)
        try within(hopLength, "hopLength", 0...1e4)
        try within(hopSpread, "hopSpread", 0...10)
        try within(mobileNoise, "mobileNoise", 0...1e4)
        // The hop lasts a geometric number of frames with this end probability: ≥ 10⁻³ keeps the mean ≤ 1000 frames.
        try within(escapeEndProbability, "escapeEndProbability", 1e-3...1)
        try within(localizationError, "localizationError", 0...1e4)
        for (name, v) in [
            ("escapeExponent", escapeExponent), ("hopExponent", hopExponent),
            ("stiffnessExponent", stiffnessExponent), ("cageNoiseExponent", cageNoiseExponent)
        ] {
            try within(v, name, 0...5)  // ≥ 0: dose effects are monotone
        }
    }

    /// One trajectory of `length` frames at `doseRate` (e⁻ Å⁻² s⁻¹), positions in nm, interleaved T×2.
    public func trajectory(doseRate: Double, length T: Int, using rng: inout Xoshiro256StarStar) -> [Double] {
        precondition(doseRate > 0, "dose rate must be positive")
        let r = doseRate / referenceDoseRate
        let m = Foundation.exp(heterogeneity * rng.normal())
        let hurst = hurstRange[0] + (hurstRange[1] - hurstRange[0]) * rng.uniform()
        let sigmaCage = cageNoise * m * pow(r, cageNoiseExponent)
        let kappa = min(1, trapStiffness * pow(r, -stiffnessExponent))
        let tauScale = cageTime * pow(r, -escapeExponent)
        let hopScale = hopLength * m * pow(r, hopExponent)
        let sigmaMobile = mobileNoise * m * pow(r, hopExponent)
        let sigmaLoc = localizationError * m
        let noise = DiffusionProcess.fractionalGaussianNoise(hurst: hurst, count: T, using: &rng)

        var out = [Double](repeating: 0, count: 2 * T)
        var cx = 0.0
        var cy = 0.0
        var ux = 0.0
        var uy = 0.0
        var vx = 0.0
        var vy = 0.0
        var caged = true
        // Start part-way through a residence so that t = 0 is not a special time.
        var left = tauScale * pow(rng.uniformPositive(), -1 / cageTimeTail) * rng.uniform()
        for t in 0..<T {
            if caged {
                ux = (1 - kappa) * ux + sigmaCage * noise.x[t]
                uy = (1 - kappa) * uy + sigmaCage * noise.y[t]
                left -= 1
                if left <= 0 {
                    caged = false
                    var frames = 1
                    while rng.uniform() >= escapeEndProbability { frames += 1 }
                    let hop = hopScale * Foundation.exp(hopSpread * rng.normal())
                    let theta = 2 * Double.pi * rng.uniform()
                    vx = hop / Double(frames) * cos(theta)
                    vy = hop / Double(frames) * sin(theta)
                    left = Double(frames)
                }
            } else {
                cx += vx + sigmaMobile * rng.normal()
                cy += vy + sigmaMobile * rng.normal()
                left -= 1
                if left <= 0 {
                    caged = true
                    left = tauScale * pow(rng.uniformPositive(), -1 / cageTimeTail)
                }
            }
            out[2 * t] = cx + ux
            out[2 * t + 1] = cy + uy
        }
        for i in 0..<(2 * T) { out[i] += sigmaLoc * rng.normal() }
        return out
    }
}
