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
    public init() {}
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
}
