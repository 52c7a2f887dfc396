import ArgumentParser
import Foundation
import LeonardoSim

struct FitPrior: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit-prior",
        abstract:
            "Fit a Gaussian to LEONARDO's aggregate posterior and store it with the checkpoint (for 'generate --prior fitted').",
        discussion: """
            Encodes --data (e.g. the validation split), takes the mean and covariance of the posterior means plus the \
            mean posterior variance, and writes the model with that prior (attribute 'latent_prior') to --out. Weights and \
            dose calibration are kept as they are (a float16 checkpoint written back as float16 is bit-identical).
            """)

    @Option(
        help:
            "Trajectories to encode (HDF5 'trajectories', N×T×2); repeat to pool several files (e.g. real windows and LPTEM-like data)."
    ) var data: [String]
    @OptionGroup var rewrite: CheckpointRewriteOptions

    func validate() throws {
        if data.isEmpty { throw ValidationError("--data needs at least one file") }
    }

    func run() throws {
        try rewrite.claim(inputs: data)
        let model = try Leonardo.load(rewrite.checkpoint)
        var pooled = try readWindows(data[0], length: model.config.length)
        for path in data.dropFirst() {
            pooled = try pooled.concatenated(with: readWindows(path, length: model.config.length))
        }
        let prior = try LatentPrior.fit(model: model, data: rewrite.limited(pooled))
        model.latentPrior = prior
        try rewrite.save(model)
        let L = prior.dimension
        let cov = prior.covariance
        print("aggregate posterior over \(prior.count) trajectories (prior N(0, 1) per latent):")
        print(
            (0..<L).map { String(format: "z%d %.2f±%.2f", $0 + 1, prior.mean[$0], cov[$0 * L + $0].squareRoot()) }
                .joined(separator: "  "))
        print("wrote \(rewrite.out)")
    }
}
