import ArgumentParser
import Foundation
import LeonardoSim
import MicroscopeGym

enum PriorKind: String, ExpressibleByArgument, CaseIterable { case standard, fitted }

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decode latents into trajectories with a LEONARDO checkpoint.",
        discussion: """
            Samples z ~ N(0, I) (or reads them with --latents) and writes an HDF5 file with datasets \
            'trajectories' (N×T×2 float32, normalised decoder output) and 'latents' (N×latent float32).
            """)

    @Option(help: "LEONARDO checkpoint (HDF5; default: the shipped model of LiquidCell-v0).") var checkpoint: String =
        defaultLeonardoPath()
    @Option(help: "Number of trajectories to sample (1 … 10,000,000, and within half the machine's memory).")
    var count: Int = 16
    @Option(help: "Seed of the latent sampling.") var seed: UInt64 = 0
    @Option(
        help:
            "Fix the dose coordinate of the latent to this value (finite, −10 … 10): the checkpoint's calibrated dose axis (see 'calibrate-dose'), or the authors' z4 for a checkpoint without a calibration."
    ) var doseLatent: Float?
    @Option(help: "Decode the latents in dataset 'latents' (N×latent) of this HDF5 file instead of sampling.")
    var latents: String?
    @Option(help: "Output HDF5 file.") var out: String = "generated.h5"
    @Flag(
        help:
            "Apply one of the eight symmetries of the square to each trajectory, drawn uniformly (from its own stream of --seed), then shift each axis to minimum 0: a set isotropic in law whatever axis the decoder prefers."
    ) var symmetrize = false
    @OptionGroup var overwriting: OverwriteOption
    @Option(
        help:
            "Fix the calibrated dose axis to the latent value of this dose rate (e⁻/Å²/s); with --prior fitted the other latents are drawn conditioned on it."
    ) var doseRate: Double?
    @Flag(
        help:
            "With --dose-rate: draw the dose coordinate around the calibrated value with the calibration's residual standard deviation, the law of the environment's latents at a steady dose rate (LiquidCell-v0 with --prior standard, -v1 with fitted)."
    ) var doseResidual = false
    @Option(
        help:
            "Latent prior to sample from: standard (N(0, I), as the authors' notebook) or fitted (the checkpoint's aggregate-posterior Gaussian, see 'fit-prior')."
    ) var prior: PriorKind = .standard

    func validate() throws {
        try requireRange(count, 1...10_000_000, "--count")
        // The trajectories (float32 N×T×2; T = 200, the shipped models' length, as the checkpoint is not read yet),
        // the latents and the decoder's per-batch buffers.
        try requireMemory(Double(count) * (200 * 2 * 4 * 3 + 64 * 4), "--count \(count)")
        if let doseLatent { try requireFinite(doseLatent, -10...10, "--dose-latent") }
        if doseLatent != nil && doseRate != nil {
            throw ValidationError("--dose-latent and --dose-rate both fix the dose coordinate: give one")
        }
        if let doseRate { try requireFinite(doseRate, doseRateBounds, "--dose-rate") }
        if doseResidual && doseRate == nil { throw ValidationError("--dose-residual needs --dose-rate") }
    }

    func run() throws {
        let model = try Leonardo.load(checkpoint)  // inputs first, then the output
        model.freezeWeights()
        try claimOutput(out, inputs: [checkpoint] + (latents.map { [$0] } ?? []), overwrite: overwriting.overwrite)
        let L = model.config.latentDim
        var z: [Float]
        if let latents {
            let f = try HDF5File.open(latents)
            let shape = try f.shape("latents")
            guard shape.count == 2, shape[1] == L else {
                throw UserError("\(latents): dataset 'latents' has shape \(shape), expected N×\(L)")
            }
            z = try f.readFloat("latents").data
            if z.contains(where: { !$0.isFinite }) {
                throw UserError("\(latents): 'latents' contains NaN or infinite values")
            }
        } else {
            var rng = Xoshiro256StarStar(seed: seed)
            switch prior {
            case .standard: z = (0..<(count * L)).map { _ in Float(rng.normal()) }
            case .fitted:
                guard let p = model.latentPrior else {
                    throw UserError(
                        "\(checkpoint): no fitted latent prior (run 'gym-runner leonardo fit-prior' first, or use --prior standard)"
                    )
                }
                z = p.sample(count: count, using: &rng)
            }
        }
        if let doseRate {
            guard doseRate > 0, let (index, value) = model.latent(forDoseRate: doseRate),
                let cal = model.doseCalibration
            else {
                throw UserError("--dose-rate needs a positive value and a checkpoint with a dose calibration")
            }
            // Residual draws come from their own stream so the other latents stay those of the same seed.
            var residualRNG = Xoshiro256StarStar(seed: seed &+ 0x9E37_79B9_7F4A_7C15)
            func doseValue() -> Double { doseResidual ? value + cal.residualStd * residualRNG.normal() : value }
            if latents == nil, prior == .fitted, let p = model.latentPrior {
                // The other coordinates from the fitted prior conditioned on the dose coordinate (as LiquidCell-v1).
                let conditional = try p.conditioned(on: index)
                var rng = Xoshiro256StarStar(seed: seed)
                z = []
                z.reserveCapacity(count * L)
                for _ in 0..<count {
                    var u = (0..<L).map { _ in rng.normal() }
                    u[index] = doseValue()
                    z += conditional.latent(fromWhitened: u)
                }
            } else {
                for i in 0..<(z.count / L) { z[i * L + index] = Float(doseValue()) }
            }
        }
        if let doseLatent {
            // The authors' dose axis is z4 (LEONARDO paper §4.5); a calibrated checkpoint names its own.
            let index = model.doseCalibration?.index ?? 3
            guard index < L else {
                throw UserError("--dose-latent: the dose coordinate z\(index + 1) is not in this \(L)-latent model")
            }
            for i in 0..<(z.count / L) { z[i * L + index] = doseLatent }
        }
        let n = z.count / L
        let T = model.config.length
        let C = model.config.inputChannels
        var out = [Float](repeating: 0, count: n * T * C)
        let bar = ProgressBar(total: n, label: "generate")
        let chunk = 256
        // The stationary decoder's per-frame noise: its own stream, so the latents stay those of the same seed.
        var noiseRNG = Xoshiro256StarStar(seed: seed &+ 0x5DEE_CE66_D1CE_F00D)
        var noise = [Float](repeating: 0, count: model.noiseCount(batch: chunk))
        z.withUnsafeBufferPointer { zp in
            out.withUnsafeMutableBufferPointer { op in
                var s = 0
                while s < n {
                    let m = min(chunk, n - s)
                    let noiseCount = model.noiseCount(batch: m)
                    for i in 0..<noiseCount { noise[i] = Float(noiseRNG.normal()) }
                    noise.withUnsafeBufferPointer { np in
                        model.decode(
                            z: zp.baseAddress! + s * L, noise: noiseCount > 0 ? np.baseAddress : nil,
                            out: op.baseAddress! + s * T * C, batch: m)
                    }
                    s += m
                    bar.update(s)
                }
            }
        }
        bar.finish()
        if symmetrize {
            guard C == 2 else {
                throw UserError("--symmetrize: the model makes \(C)-channel trajectories, not 2-D ones")
            }
            var symmetryRNG = Xoshiro256StarStar(seed: seed &+ 0x51A7_E5A1_50D0_0001)
            TrajectorySet.applyRandomSymmetries(&out, count: n, length: T, rng: &symmetryRNG)
        }
        try writeHDF5Atomically(self.out) { f in
            try f.write("trajectories", out, shape: [n, T, C])
            try f.write("latents", z, shape: [n, L])
            try f.setAttribute("generator", "LEONARDO decoder")
            try f.setAttribute("checkpoint", checkpoint)
            if latents == nil {
                try f.setAttribute("seed", String(seed))  // any UInt64 (Int would trap from 2⁶³)
                try f.setAttribute("prior", prior.rawValue)
            }
            if symmetrize { try f.setAttribute("symmetrized", "one uniform symmetry of the square per trajectory") }
        }
        print("wrote \(n) trajectories of \(T) frames to \(self.out)")
    }
}
