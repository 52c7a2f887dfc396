import Foundation

/// Weights of the loss terms: the paper's 11 (LEONARDO paper, appendix C; defaults are its w₁ … w₁₁) and this
/// project's L12 (block heterogeneity), L13 (long-lag MSD), L14 (step-size profile over frames) and L15 (x:y step-std ratio), all with
/// default weight 0, i.e. the paper's loss; see `PhysicsLoss`.
public struct LossWeights: Codable, Equatable, Sendable {
    public var mse = 0.001, kl = 0.05, mean = 50_000.0, variance = 500.0, skewness = 10.0, kurtosis = 0.06
    public var median = 1.0, vacf = 1000.0, vacfBatch = 100.0, xyCorrelation = 10.0, positionACF = 1.0
    /// Weight w₁₂ of L12, the per-trajectory mismatch of step-size heterogeneity over time (not in the paper).
    public var blockHeterogeneity = 0.0
    /// Largest lag of the per-trajectory VACF term L8 (paper: 50).
    public var vacfMaxLag = 50
    /// Number of consecutive blocks of steps in L12.
    public var heterogeneityBlocks = 4
    /// Weight w₁₃ of L13, the per-trajectory mismatch of the log time-averaged MSD at `msdLags` (not in the paper).
    public var longLagMSD = 0.0
    /// Lags (frames) of L13; lags ≥ T are left out.
    public var msdLags = [1, 10, 50, 100, 150]
    /// Weight w₁₄ of L14, the batch's mean squared step at each frame index against the data's (not in the paper).
    public var stepProfile = 0.0
    /// Weight w₁₅ of L15, the per-trajectory mismatch of the log x:y step-std ratio (not in the paper).
    public var axisRatio = 0.0
    public init() {}

    /// The weight of `term`.
    public subscript(term: LossTerm) -> Double {
        get {
            switch term {
            case .mse: mse
            case .kl: kl
            case .mean: mean
            case .variance: variance
            case .skewness: skewness
            case .kurtosis: kurtosis
            case .median: median
            case .vacf: vacf
            case .vacfBatch: vacfBatch
            case .xyCorrelation: xyCorrelation
            case .positionACF: positionACF
            case .blockHeterogeneity: blockHeterogeneity
            case .longLagMSD: longLagMSD
            case .stepProfile: stepProfile
            case .axisRatio: axisRatio
            }
        }
        set {
            switch term {
            case .mse: mse = newValue
            case .kl: kl = newValue
            case .mean: mean = newValue
            case .variance: variance = newValue
            case .skewness: skewness = newValue
            case .kurtosis: kurtosis = newValue
            case .median: median = newValue
            case .vacf: vacf = newValue
            case .vacfBatch: vacfBatch = newValue
            case .xyCorrelation: xyCorrelation = newValue
            case .positionACF: positionACF = newValue
            case .blockHeterogeneity: blockHeterogeneity = newValue
            case .longLagMSD: longLagMSD = newValue
            case .stepProfile: stepProfile = newValue
            case .axisRatio: axisRatio = newValue
            }
        }
    }

    /// Σ wⱼ·Lⱼ over every term, in the order of `LossTerm.allCases`.
    public func total(_ terms: LossTerms) -> Double {
        LossTerm.allCases.reduce(0) { $0 + self[$1] * terms[$1] }
    }

    enum CodingKeys: String, CodingKey {
        case mse, kl, mean, variance, skewness, kurtosis, median, vacf, vacfBatch, xyCorrelation, positionACF
        case blockHeterogeneity, vacfMaxLag, heterogeneityBlocks, longLagMSD, msdLags, stepProfile, axisRatio
    }

    /// Decodes weights; checkpoints written before L12–L15 existed get weight 0 for them, as trained.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        mse = try c.decode(Double.self, forKey: .mse)
        kl = try c.decode(Double.self, forKey: .kl)
        mean = try c.decode(Double.self, forKey: .mean)
        variance = try c.decode(Double.self, forKey: .variance)
        skewness = try c.decode(Double.self, forKey: .skewness)
        kurtosis = try c.decode(Double.self, forKey: .kurtosis)
        median = try c.decode(Double.self, forKey: .median)
        vacf = try c.decode(Double.self, forKey: .vacf)
        vacfBatch = try c.decode(Double.self, forKey: .vacfBatch)
        xyCorrelation = try c.decode(Double.self, forKey: .xyCorrelation)
        positionACF = try c.decode(Double.self, forKey: .positionACF)
        vacfMaxLag = try c.decode(Int.self, forKey: .vacfMaxLag)
        blockHeterogeneity = try c.decodeIfPresent(Double.self, forKey: .blockHeterogeneity) ?? 0
        heterogeneityBlocks = try c.decodeIfPresent(Int.self, forKey: .heterogeneityBlocks) ?? 4
        longLagMSD = try c.decodeIfPresent(Double.self, forKey: .longLagMSD) ?? 0
        msdLags = try c.decodeIfPresent([Int].self, forKey: .msdLags) ?? [1, 10, 50, 100, 150]
        stepProfile = try c.decodeIfPresent(Double.self, forKey: .stepProfile) ?? 0
        axisRatio = try c.decodeIfPresent(Double.self, forKey: .axisRatio) ?? 0
    }
}
