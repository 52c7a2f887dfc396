import ArgumentParser
import Foundation
import LeonardoSim

/// The options of the commands that fit something to a checkpoint and write the checkpoint with it.
struct CheckpointRewriteOptions: ParsableArguments {
    @Option(help: "LEONARDO checkpoint (HDF5).") var checkpoint: String
    @Option(help: "Use at most this many trajectories.") var limit: Int?
    @Option(help: "Output checkpoint (may equal --checkpoint).") var out: String
    @Flag(help: "Store the weights as IEEE float16 (half the size; for the shipped model).") var float16 = false

    /// The first --limit trajectories of `set` (all without --limit).
    func limited(_ set: TrajectorySet) -> TrajectorySet {
        if let limit, limit < set.count { return set.subset(Array(0..<limit)) }
        return set
    }

    /// Writes the model to --out (float16 with --float16), without optimizer state.
    func save(_ model: Leonardo) throws { try LeonardoCheckpoint.save(model, to: out, float16: float16) }
}

struct CalibrateDose: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate-dose",
        abstract: "Find LEONARDO's dose axis: the latent most correlated with log dose, and the map dose rate → latent.",
        discussion: """
        Encodes the labelled trajectories of --data (which must hold 'dose'), picks the latent coordinate whose \
        posterior mean correlates most strongly with log10 dose rate, fits mu = intercept + slope·log10(dose) and \
        writes the model with that calibration (attribute 'dose_calibration') to --out, without optimizer state.
        """)

    @Option(help: "Labelled trajectories with a 'dose' dataset (e.g. the validation split).") var data: String
    @OptionGroup var rewrite: CheckpointRewriteOptions

    func run() throws {
        let model = try Leonardo.load(rewrite.checkpoint)
        let cal = try DoseCalibration.fit(model: model, data: rewrite.limited(try TrajectorySet.read(data)))
        model.doseCalibration = cal
        try rewrite.save(model)
        print(String(format: "dose axis: z%d (index %d), Pearson r = %.3f with log10 dose over %d trajectories",
                     cal.index + 1, cal.index, cal.pearsonR, cal.count))
        print(String(format: "mu = %.4f %+.4f·log10(dose rate), residual std %.4f; more confinement (lower dose) = %@ z%d",
                     cal.intercept, cal.slope, cal.residualStd, cal.confinementDirection > 0 ? "higher" : "lower", cal.index + 1))
        print("r of every latent: " + cal.correlations.enumerated().map { String(format: "z%d %.2f", $0.offset + 1, $0.element) }.joined(separator: ", "))
        print("wrote \(rewrite.out)")
    }
}

struct FitPrior: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit-prior",
        abstract: "Fit a Gaussian to LEONARDO's aggregate posterior and store it with the checkpoint (for 'generate --prior fitted').",
        discussion: """
        Encodes --data (e.g. the validation split), takes the mean and covariance of the posterior means plus the \
        mean posterior variance, and writes the model with that prior (attribute 'latent_prior') to --out. Weights and \
        dose calibration are kept as they are (a float16 checkpoint written back as float16 is bit-identical).
        """)

    @Option(help: "Trajectories to encode (HDF5 'trajectories', N×T×2); repeat to pool several files (e.g. real windows and LPTEM-like data).") var data: [String]
    @OptionGroup var rewrite: CheckpointRewriteOptions

    func validate() throws {
        if data.isEmpty { throw ValidationError("--data needs at least one file") }
    }

    func run() throws {
        let model = try Leonardo.load(rewrite.checkpoint)
        var pooled = try readWindows(data[0], length: model.config.length)
        for path in data.dropFirst() { pooled = try pooled.concatenated(with: readWindows(path, length: model.config.length)) }
        let prior = try LatentPrior.fit(model: model, data: rewrite.limited(pooled))
        model.latentPrior = prior
        try rewrite.save(model)
        let L = prior.dimension, cov = prior.covariance
        print("aggregate posterior over \(prior.count) trajectories (prior N(0, 1) per latent):")
        print((0..<L).map { String(format: "z%d %.2f±%.2f", $0 + 1, prior.mean[$0], cov[$0 * L + $0].squareRoot()) }.joined(separator: "  "))
        print("wrote \(rewrite.out)")
    }
}

struct MatchDose: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "match-dose",
        abstract: "The dose rate at which a calibrated LEONARDO encodes recordings without dose labels (e.g. the real ones).",
        discussion: """
        Encodes --data (windows of the model's length), averages the posterior mean of the dose coordinate and maps it \
        back through the checkpoint's dose calibration: the dose rate whose latent the recordings sit at. Also prints \
        the 16th–84th percentile of the per-window values. The last line is the rate alone, for scripts.
        """)

    @Option(help: "LEONARDO checkpoint with a dose calibration (default: the shipped model).") var checkpoint: String = defaultLeonardoPath()
    @Option(help: "Trajectories to encode (HDF5 'trajectories', N×T×2), e.g. runs/real/train.h5.") var data: String

    func run() throws {
        let model = try Leonardo.load(checkpoint)
        guard let cal = model.doseCalibration else { throw UserError("\(checkpoint): no dose calibration (run calibrate-dose first)") }
        let set = try readWindows(data, length: model.config.length)
        let mu = model.encode(set.normalized()).mu
        let L = model.config.latentDim
        let values = (0..<set.count).map { Double(mu[$0 * L + cal.index]) }.sorted()
        let mean = values.reduce(0, +) / Double(values.count)
        let rate = cal.doseRate(forLatent: mean)
        func pct(_ q: Double) -> Double { cal.doseRate(forLatent: values[min(values.count - 1, Int(q * Double(values.count)))]) }
        let (lo, hi) = (min(pct(0.16), pct(0.84)), max(pct(0.16), pct(0.84)))
        print(String(format: "dose axis z%d (index %d), Pearson r = %.3f with log10 dose", cal.index + 1, cal.index, cal.pearsonR))
        print(String(format: "%@: %d windows, mean z%d = %.3f → %.3g e⁻/Å²/s (per-window 16–84 %%: %.3g–%.3g)",
                     (data as NSString).lastPathComponent, set.count, cal.index + 1, mean, rate, lo, hi))
        print(String(format: "%.4g", rate))
    }
}
