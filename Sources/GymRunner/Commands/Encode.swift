import ArgumentParser
import Foundation
import LeonardoSim

/// `gym-runner leonardo encode`: trajectories → LEONARDO posterior means (and log-variances). With `generate --latents` it
/// gives reconstructions; with the checkpoint's dose calibration it reads the dose rate the dose axis implies.
struct Encode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Encode trajectories with a LEONARDO checkpoint (posterior means and log-variances).",
        discussion: """
            Reads trajectories (HDF5 dataset 'trajectories', N×T×2; longer ones are cut into windows of the model's \
            length), normalises each as in training, and writes --out with datasets 'latents' (N×latent, the posterior \
            means) and 'logvar'. Prints the mean and spread of every latent coordinate (the prior is N(0, 1)) and, when \
            the checkpoint has a dose calibration, the dose rates its dose axis implies. Reconstructions: \
            'gym-runner leonardo generate --latents OUT.h5'.
            """)

    @Option(help: "LEONARDO checkpoint (HDF5; default: the shipped model of LiquidCell-v0).") var checkpoint: String =
        defaultLeonardoPath()
    @Option(help: "Trajectory file (HDF5 'trajectories', N×T×2).") var data: String
    @Option(help: "Output HDF5 file.") var out: String = "latents.h5"
    @OptionGroup var overwriting: OverwriteOption

    func run() throws {
        let model = try Leonardo.load(checkpoint)  // inputs first, then the output
        try claimOutput(out, inputs: [data, checkpoint], overwrite: overwriting.overwrite)
        let L = model.config.latentDim
        let T = model.config.length
        let set = try readWindows(data, length: T)
        let n = set.count
        let (mu, logvar) = model.encode(set.normalized())
        try writeHDF5Atomically(out) { f in
            try f.write("latents", mu, shape: [n, L])
            try f.write("logvar", logvar, shape: [n, L])
            try f.setAttribute("checkpoint", checkpoint)
            try f.setAttribute("data", data)
        }
        print("encoded \(n) trajectories of \(T) frames; posterior means per latent (prior: mean 0, sd 1):")
        var line = ""
        for j in 0..<L {
            let xs = (0..<n).map { Double(mu[$0 * L + j]) }
            let m = xs.reduce(0, +) / Double(n)
            let sd = (xs.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(max(n - 1, 1))).squareRoot()
            line += String(format: "z%d %.2f±%.2f  ", j + 1, m, sd)
        }
        print(line)
        if let cal = model.doseCalibration {
            // Invert μ = intercept + slope·log10(d) per trajectory; report quartiles of the implied dose rate.
            let implied = (0..<n).map { pow(10, (Double(mu[$0 * L + cal.index]) - cal.intercept) / cal.slope) }.sorted()
            func q(_ p: Double) -> Double { implied[min(n - 1, Int(p * Double(n - 1)))] }
            print(
                String(
                    format:
                        "dose axis z%d: implied dose rate median %.3g e⁻/Å²/s (quartiles %.3g–%.3g; calibrated over %g–%g)",
                    cal.index + 1, q(0.5), q(0.25), q(0.75), cal.doseRange[0], cal.doseRange[1]))
        }
        print("wrote \(out)")
    }
}
