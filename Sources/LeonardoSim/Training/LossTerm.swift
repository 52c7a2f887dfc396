import Foundation

/// One term of LEONARDO's physics-informed loss (paper eq. 11–23, appendix C) or of this project's additions L12–L15,
/// addressed by name: its weight in `LossWeights`, its value in `LossTerms`, and its value and gradient in
/// `PhysicsLoss`. The order of the cases is the paper's L1 … L11, then L12 … L15.
public enum LossTerm: Int, CaseIterable, Codable, Sendable {
    /// L1 = (1/N)‖r − r̂‖²: reconstruction error (sum over frames and axes, mean over the batch).
    case mse
    /// L2 = KL(q(z|r) ‖ N(0, I)), mean over the batch.
    case kl
    /// L3–L7: squared differences of the step-size mean, variance, skewness, kurtosis and (lower) median.
    case mean, variance, skewness, kurtosis, median
    /// L8 = Σ_{τ=1}^{50} (1/τ)(C_v(τ) − Ĉ_v(τ))², per trajectory.
    case vacf
    /// L9 = mean over τ = 1 … T−2 of (⟨C_v(τ)⟩_batch − ⟨Ĉ_v(τ)⟩_batch)².
    case vacfBatch
    /// L10: squared difference of the x–y step correlation.
    case xyCorrelation
    /// L11 = Σ_{τ=1}^{T−1} (C_r(τ) − Ĉ_r(τ))², per trajectory.
    case positionACF
    /// L12 (not in the paper): mismatch of the step-size heterogeneity over time (`PhysicsLoss.blockHeterogeneity`).
    case blockHeterogeneity
    /// L13 (not in the paper): mismatch of the log time-averaged MSD at the lags `LossWeights.msdLags`.
    case longLagMSD
    /// L14 (not in the paper): the batch's log mean squared step at each frame index against the data's.
    case stepProfile
    /// L15 (not in the paper): mismatch of the per-trajectory log ratio of the x- and y-step standard deviations.
    case axisRatio

    /// The term's name in files, flags and progress columns (snake case, e.g. "vacf_batch").
    public var name: String {
        switch self {
        case .mse: "mse"
        case .kl: "kl"
        case .mean: "mean"
        case .variance: "variance"
        case .skewness: "skewness"
        case .kurtosis: "kurtosis"
        case .median: "median"
        case .vacf: "vacf"
        case .vacfBatch: "vacf_batch"
        case .xyCorrelation: "xy_correlation"
        case .positionACF: "position_acf"
        case .blockHeterogeneity: "block_heterogeneity"
        case .longLagMSD: "long_lag_msd"
        case .stepProfile: "step_profile"
        case .axisRatio: "axis_ratio"
        }
    }

    /// A short name for progress lines ("vacfB", "pacf", …).
    public var shortName: String {
        switch self {
        case .variance: "var"
        case .skewness: "skew"
        case .kurtosis: "kurt"
        case .median: "med"
        case .vacfBatch: "vacfB"
        case .xyCorrelation: "xy"
        case .positionACF: "pacf"
        case .blockHeterogeneity: "het"
        case .longLagMSD: "lmsd"
        case .stepProfile: "prof"
        case .axisRatio: "axes"
        default: name
        }
    }

    /// The paper's label L1 … L11, or this project's L12 … L15.
    public var label: String { "L\(rawValue + 1)" }

    /// Whether the term is one of the paper's eleven (the others are this project's, weight 0 by default).
    public var isPaperTerm: Bool { rawValue < 11 }

    /// The paper's eleven terms, L1 … L11.
    public static let paperTerms = allCases.filter(\.isPaperTerm)

    /// The term called `name` (see `name`), or nil.
    public init?(name: String) {
        guard let term = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = term
    }

    /// The position of the term's statistic in a per-trajectory scalar row, for the terms that compare one scalar
    /// statistic (L3–L7, L10, L15); nil for the others.
    var scalarStatistic: Int? {
        switch self {
        case .mean: StatsLayout.mean
        case .variance: StatsLayout.variance
        case .skewness: StatsLayout.skewness
        case .kurtosis: StatsLayout.kurtosis
        case .median: StatsLayout.median
        case .xyCorrelation: StatsLayout.rho
        case .axisRatio: StatsLayout.axisRatio
        default: nil
        }
    }
}

/// The value of every loss term for one batch; `total` = Σ wⱼ·Lⱼ.
public struct LossTerms: Equatable, Sendable {
    /// The terms' names in order (`LossTerm.allCases`), e.g. for CSV headers.
    public static let names = LossTerm.allCases.map(\.name)
    /// Number of terms (the paper's 11 and this project's L12–L15).
    public static let count = LossTerm.allCases.count
    /// Values in the order of `LossTerm.allCases`; read them by term with the subscript.
    public private(set) var values = [Double](repeating: 0, count: LossTerms.count)
    public var total = 0.0
    /// The semi-supervised dose term (`DoseAnchor`), before its weight; 0 without one. Its weighted value is in `total`.
    public var doseAnchor = 0.0
    public init() {}

    /// Terms from values in the order of `LossTerm.allCases` (missing trailing terms, as in checkpoints written
    /// before L12–L15 existed, are 0); `total` is left 0.
    public init(values: [Double]) {
        for (term, value) in zip(LossTerm.allCases, values) { self[term] = value }
    }

    /// The (unweighted) value of `term`.
    public subscript(term: LossTerm) -> Double {
        get { values[term.rawValue] }
        set { values[term.rawValue] = newValue }
    }
}
