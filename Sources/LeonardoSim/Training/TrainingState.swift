import Foundation

/// Hyper-parameters of LEONARDO training.
public struct TrainingOptions: Codable, Equatable, Sendable {
    public var epochs = 10
    public var batchSize = 64
    public var learningRate: Float = 3e-4
    /// Global gradient-norm clip (≤ 0 disables).
    public var gradClip = 1.0
    /// Seed of the data order and the reparameterisation noise.
    public var seed: UInt64 = 0
    /// Write a checkpoint every this many optimizer steps (0: only at the end of each epoch).
    public var checkpointEvery = 200
    public var weights = LossWeights()
    /// The semi-supervised dose term (nil: none, as in the paper).
    public var doseAnchor: DoseAnchor?
    public init() {}
}

/// A semi-supervised dose term for training on a mixture of dose-labelled and unlabelled trajectories (this
/// project's, not the paper's): for every labelled trajectory of a batch, weight·(μ_k − (intercept + slope·log10 d))²,
/// averaged over the batch, where k is the dose axis. It holds the latent's dose coordinate where a calibration put it
/// while unlabelled data (the real recordings) reshape the rest. Its value is `LossTerms.doseAnchor`.
public struct DoseAnchor: Codable, Equatable, Sendable {
    public var weight: Double
    public var index: Int
    public var intercept: Double
    public var slope: Double

    public init(weight: Double, calibration: DoseCalibration) {
        self.weight = weight
        index = calibration.index
        intercept = calibration.intercept
        slope = calibration.slope
    }

    /// Adds the term's gradient for a batch into dMu (B×L) and returns its value (before the weight). `dose` holds one
    /// dose rate per trajectory, NaN where unlabelled.
    public func apply(
        mu: UnsafePointer<Float>, dose: UnsafePointer<Float>, dMu: UnsafeMutablePointer<Float>, batch B: Int,
        latent L: Int
    ) -> Double {
        var value = 0.0
        for i in 0..<B where dose[i].isFinite && dose[i] > 0 {
            let e = Double(mu[i * L + index]) - (intercept + slope * log10(Double(dose[i])))
            value += e * e
            dMu[i * L + index] += Float(2 * weight * e / Double(B))
        }
        return value / Double(B)
    }
}

/// Everything needed to continue training bit-for-bit: saved with the checkpoint.
public struct TrainingState: Codable, Equatable, Sendable {
    public var options: TrainingOptions
    public var epoch: Int
    public var stepInEpoch: Int
    public var optimizerStep: Int
    public var rngState: [UInt64]
    public var rngSpareNormal: Double?
    /// Mean of each loss term over the last completed epoch (for the record).
    public var lastEpochLosses: [Double]
    /// Running sums of each loss term over the current epoch, and the batches summed.
    public var epochLossSums: [Double] = [Double](repeating: 0, count: LossTerms.count)
    public var epochBatches: Int = 0

    /// `lastEpochLosses` by term, with their weighted sum (without the dose term) as `total`.
    public var lastEpochTerms: LossTerms {
        var terms = LossTerms(values: lastEpochLosses)
        terms.total = options.weights.total(terms)
        return terms
    }
}
