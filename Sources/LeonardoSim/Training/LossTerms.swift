import Foundation

/// The value of every loss term for one batch; `total` = Σ wⱼ·Lⱼ.
public struct LossTerms: Equatable, Sendable {
    public static let names = [
        "mse", "kl", "mean", "variance", "skewness", "kurtosis", "median",
        "vacf", "vacf_batch", "xy_correlation", "position_acf", "block_heterogeneity", "long_lag_msd",
        "step_profile"
    ]
    /// Number of terms (the paper's 11 and this project's L12–L14).
    public static let count = names.count
    public var values = [Double](repeating: 0, count: LossTerms.count)
    public var total = 0.0
    /// The semi-supervised dose term (`DoseAnchor`), before its weight; 0 without one. Its weighted value is in `total`.
    public var doseAnchor = 0.0
    public init() {}
}
