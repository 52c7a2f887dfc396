import ArgumentParser
import Foundation
import LeonardoSim

struct MatchDose: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "match-dose",
        abstract:
            "The dose rate at which a calibrated LEONARDO encodes recordings without dose labels (e.g. the real ones).",
        discussion: """
            Encodes --data (windows of the model's length), averages the posterior mean of the dose coordinate and maps it \
            back through the checkpoint's dose calibration: the dose rate whose latent the recordings sit at. Also prints \
            the 16th–84th percentile of the per-window values. The last line is the rate alone, for scripts.
            """)

    @Option(help: "LEONARDO checkpoint with a dose calibration (default: the shipped model).") var checkpoint: String =
        defaultLeonardoPath()
    @Option(help: "Trajectories to encode (HDF5 'trajectories', N×T×2), e.g. runs/real/train.h5.") var data: String

    func run() throws {
        let model = try Leonardo.load(checkpoint)
        guard let cal = model.doseCalibration else {
            throw UserError("\(checkpoint): no dose calibration (run calibrate-dose first)")
        }
        let set = try readWindows(data, length: model.config.length)
        let mu = model.encode(set.normalized()).mu
        let L = model.config.latentDim
        let values = (0..<set.count).map { Double(mu[$0 * L + cal.index]) }.sorted()
        let mean = values.reduce(0, +) / Double(values.count)
        let rate = cal.doseRate(forLatent: mean)
        func pct(_ q: Double) -> Double {
            cal.doseRate(forLatent: values[min(values.count - 1, Int(q * Double(values.count)))])
        }
        let (lo, hi) = (min(pct(0.16), pct(0.84)), max(pct(0.16), pct(0.84)))
        print(
            String(
                format: "dose axis z%d (index %d), Pearson r = %.3f with log10 dose", cal.index + 1, cal.index,
                cal.pearsonR))
        print(
            String(
                format: "%@: %d windows, mean z%d = %.3f → %.3g e⁻/Å²/s (per-window 16–84 %%: %.3g–%.3g)",
                (data as NSString).lastPathComponent, set.count, cal.index + 1, mean, rate, lo, hi))
        print(String(format: "%.4g", rate))
    }
}
