import ArgumentParser
import Foundation
import LeonardoSim

struct CalibrateDose: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate-dose",
        abstract:
            "Find LEONARDO's dose axis: the latent most correlated with log dose, and the map dose rate → latent.",
        discussion: """
            Encodes the labelled trajectories of --data (which must hold 'dose'), picks the latent coordinate whose \
            posterior mean correlates most strongly with log10 dose rate, fits mu = intercept + slope·log10(dose) and \
            writes the model with that calibration (attribute 'dose_calibration') to --out, without optimizer state.
            """)

    @Option(help: "Labelled trajectories with a 'dose' dataset (e.g. the validation split).") var data: String
    @OptionGroup var rewrite: CheckpointRewriteOptions

    func run() throws {
        try rewrite.claim(inputs: [data])
        let model = try Leonardo.load(rewrite.checkpoint)
        let cal = try DoseCalibration.fit(model: model, data: rewrite.limited(try TrajectorySet.read(data)))
        model.doseCalibration = cal
        try rewrite.save(model)
        print(
            String(
                format: "dose axis: z%d (index %d), Pearson r = %.3f with log10 dose over %d trajectories",
                cal.index + 1, cal.index, cal.pearsonR, cal.count))
        print(
            String(
                format: "mu = %.4f %+.4f·log10(dose rate), residual std %.4f; more confinement (lower dose) = %@ z%d",
                cal.intercept, cal.slope, cal.residualStd, cal.confinementDirection > 0 ? "higher" : "lower",
                cal.index + 1))
        print(
            "r of every latent: "
                + cal.correlations.enumerated().map { String(format: "z%d %.2f", $0.offset + 1, $0.element) }.joined(
                    separator: ", "))
        print("wrote \(rewrite.out)")
    }
}
