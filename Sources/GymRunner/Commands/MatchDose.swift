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
            the 16th–84th percentile of the per-window values. With --by-motion instead: decode --count trajectories \
            at each of 25 log-spaced dose rates from 1 to 100 e⁻/Å²/s with the environments' latent law (dose \
            coordinate with the calibration's residual spread, the rest N(0, I)) and pick the rate whose MSD exponent \
            and VACF(1) (paper-normalised trajectories) are nearest to --data's, in units of 0.05 each. The last line \
            is the rate alone, for scripts.
            """)

    @Option(help: "LEONARDO checkpoint with a dose calibration (default: the shipped model).") var checkpoint: String =
        defaultLeonardoPath()
    @Option(help: "Trajectories to encode (HDF5 'trajectories', N×T×2), e.g. runs/real/train.h5.") var data: String
    @Flag(help: "Match the motion statistics (MSD exponent, VACF(1)) instead of the latent.") var byMotion = false
    @Option(help: "With --by-motion: trajectories decoded per dose rate.") var count: Int = 1000
    @Option(help: "With --by-motion: seed of the latents and decoder noise.") var seed: UInt64 = 7

    func validate() throws {
        if !(10...100_000).contains(count) { throw ValidationError("--count must be 10 ... 100000") }
    }

    func run() throws {
        let model = try Leonardo.load(checkpoint)
        guard let cal = model.doseCalibration else {
            throw UserError("\(checkpoint): no dose calibration (run calibrate-dose first)")
        }
        let set = try readWindows(data, length: model.config.length)
        if byMotion {
            try matchMotion(model, calibration: cal, data: set)
            return
        }
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

    func matchMotion(_ model: Leonardo, calibration cal: DoseCalibration, data: TrajectorySet) throws {
        let target = MotionSummary(data.paperNormalized)
        let L = model.config.latentDim
        var best = (rate: 1.0, distance: Double.infinity)
        print(
            String(
                format: "%@: MSD exponent %.3f, VACF(1) %.3f (normalised)", (self.data as NSString).lastPathComponent,
                target.msdExponent, target.vacf[0]))
        print("| dose rate | MSD exponent | VACF(1) | distance |\n|---:|---:|---:|---:|")
        for k in 0..<25 {
            let rate = pow(10, 2 * Double(k) / 24)
            var rng = Xoshiro256StarStar(seed: seed)
            var z = [Float](repeating: 0, count: count * L)
            for i in 0..<count {
                for j in 0..<L { z[i * L + j] = Float(rng.normal()) }
                z[i * L + cal.index] = Float(cal.latent(forDoseRate: rate) + cal.residualStd * rng.normal())
            }
            let decoded = model.decode(z: z, rng: &rng)
            let m = MotionSummary(
                TrajectorySet(trajectories: decoded, count: count, length: model.config.length).paperNormalized)
            let distance =
                pow((m.msdExponent - target.msdExponent) / 0.05, 2) + pow((m.vacf[0] - target.vacf[0]) / 0.05, 2)
            if distance < best.distance { best = (rate, distance) }
            print(String(format: "| %.3g | %.3f | %.3f | %.2f |", rate, m.msdExponent, m.vacf[0], distance))
        }
        print(String(format: "nearest: %.3g e⁻/Å²/s", best.rate))
        print(String(format: "%.4g", best.rate))
    }
}
