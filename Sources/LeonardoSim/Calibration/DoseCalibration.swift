import Foundation

/// The dose axis of a trained LEONARDO: which latent coordinate tracks the electron dose rate, and the linear
/// map log₁₀(dose rate) → latent value (LEONARDO paper §4.5 found z4, Pearson r = −0.61 with dose).
///
/// Fitted by encoding labelled trajectories (posterior means μ), choosing the coordinate whose μ correlates
/// most strongly (|Pearson r|) with log₁₀ dose, and regressing μ on log₁₀ dose by least squares:
/// μ_index ≈ intercept + slope · log₁₀(doseRate). `residualStd` is the spread of μ around that line.
/// `direction` says which way is "more confinement" (lower dose): −sign(slope).
public struct DoseCalibration: Codable, Equatable, Sendable {
    public var index: Int
    public var slope: Double
    public var intercept: Double
    public var pearsonR: Double
    public var residualStd: Double
    /// Pearson r of every latent coordinate with log₁₀ dose (for reports).
    public var correlations: [Double]
    /// Number of trajectories used.
    public var count: Int
    /// Dose-rate range (e⁻ Å⁻² s⁻¹) of the calibration data: extrapolation outside it is a guess.
    public var doseRange: [Double]

    public init(
        index: Int, slope: Double, intercept: Double, pearsonR: Double, residualStd: Double,
        correlations: [Double], count: Int, doseRange: [Double]
    ) {
        self.index = index
        self.slope = slope
        self.intercept = intercept
        self.pearsonR = pearsonR
        self.residualStd = residualStd
        self.correlations = correlations
        self.count = count
        self.doseRange = doseRange
    }

    /// Sign of the latent change that means more confinement (lower dose): −1 when the latent rises with dose.
    public var confinementDirection: Int { slope > 0 ? -1 : 1 }

    /// The latent value the calibration assigns to `doseRate` (e⁻ Å⁻² s⁻¹).
    public func latent(forDoseRate doseRate: Double) -> Double { intercept + slope * log10(doseRate) }

    /// The dose rate whose calibrated latent value is `value` (the inverse map).
    public func doseRate(forLatent value: Double) -> Double { pow(10, (value - intercept) / slope) }

    /// Fits the calibration from posterior means `mu` (n×L) and dose rates (n).
    public static func fit(mu: [Float], latentDim L: Int, doseRates: [Float]) throws -> DoseCalibration {
        let n = doseRates.count
        guard n >= 3, mu.count == n * L else {
            throw LeonardoError.invalidArgument("dose calibration needs ≥ 3 encoded trajectories with doses")
        }
        guard doseRates.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw LeonardoError.invalidData("dose calibration: every dose rate must be positive and finite")
        }
        let x = doseRates.map { log10(Double($0)) }
        let mx = x.reduce(0, +) / Double(n)
        let sxx = x.map { ($0 - mx) * ($0 - mx) }.reduce(0, +)
        guard sxx > 0 else { throw LeonardoError.invalidData("dose calibration: all trajectories have the same dose") }
        var best = 0
        var correlations = [Double](repeating: 0, count: L)
        var slopes = [Double](repeating: 0, count: L)
        var intercepts = [Double](repeating: 0, count: L)
        for j in 0..<L {
            var my = 0.0
            for i in 0..<n { my += Double(mu[i * L + j]) }
            my /= Double(n)
            var sxy = 0.0
            var syy = 0.0
            for i in 0..<n {
                let dy = Double(mu[i * L + j]) - my
                sxy += (x[i] - mx) * dy
                syy += dy * dy
            }
            correlations[j] = syy > 0 ? sxy / (sxx * syy).squareRoot() : 0
            slopes[j] = sxy / sxx
            intercepts[j] = my - slopes[j] * mx
            if abs(correlations[j]) > abs(correlations[best]) { best = j }
        }
        var rss = 0.0
        for i in 0..<n {
            let r = Double(mu[i * L + best]) - (intercepts[best] + slopes[best] * x[i])
            rss += r * r
        }
        return DoseCalibration(
            index: best, slope: slopes[best], intercept: intercepts[best], pearsonR: correlations[best],
            residualStd: (rss / Double(max(n - 2, 1))).squareRoot(), correlations: correlations,
            count: n, doseRange: [Double(doseRates.min()!), Double(doseRates.max()!)])
    }

    /// Encodes a labelled trajectory set (normalised as in the paper) and fits the calibration.
    public static func fit(model: Leonardo, data: TrajectorySet) throws -> DoseCalibration {
        guard let dose = data.dose else {
            throw LeonardoError.invalidData("dose calibration needs a data set with a 'dose' dataset")
        }
        guard data.length == model.config.length else {
            throw LeonardoError.invalidData(
                "dose calibration: trajectories have \(data.length) frames, the model expects \(model.config.length)")
        }
        let keep = (0..<data.count).filter { dose[$0].isFinite && dose[$0] > 0 }
        let set = keep.count == data.count ? data : data.subset(keep)
        let (mu, _) = model.encode(set.normalized())
        return try fit(mu: mu, latentDim: model.config.latentDim, doseRates: set.dose!)
    }
}
