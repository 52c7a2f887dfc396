import ArgumentParser
import Foundation
import LeonardoSim

/// `gym-runner fill …`: lost and unrecorded frames of a trajectory, completed by latent Monte Carlo on LEONARDO.
struct FillFamily: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fill",
        abstract: "Between the frames: complete lost or unrecorded frames by latent Monte Carlo on LEONARDO.",
        subcommands: [FillTrajectories.self, FillValidate.self, FillLearnPrior.self, FillRecording.self],
        defaultSubcommand: FillTrajectories.self)
}

/// The sampler's options, shared by `fill` and `fill validate`.
struct SamplerOptions: ParsableArguments {
    @Option(help: "LEONARDO checkpoint (HDF5).") var checkpoint: String = defaultRealLeonardoPath()
    @Option(help: "Parallel Metropolis chains.") var chains: Int = 16
    @Option(help: "Metropolis steps per chain (burn-in included).") var steps: Int = 96
    @Option(help: "Burn-in steps (discarded; they adapt the step size).") var burnIn: Int = 32
    @Option(help: "Completions drawn per trajectory.") var completions: Int = 32
    @Flag(help: "Also sample the decoder's per-frame noise (pCN) instead of holding it at zero.")
    var sampleFrameNoise = false
    @Option(help: "Latent move: pcn (prior-preserving Crank–Nicolson) or uniform (paper 003's perturbation).")
    var proposal: String = "pcn"
    @Flag(help: "Keep the calibrated step scale through burn-in (only its multiplier adapts).")
    var fixedStepScale = false
    @Option(
        help:
            "Motion the decoder does not explain: fbm (fractional Brownian motion + localisation noise), rw (random walk + noise) or white (noise only)."
    ) var residual: String = "fbm"
    @Option(
        help: "Population prior of the fbm residual (JSON, written by 'fill learn-prior'); 'none': maximum likelihood.")
    var residualPrior: String = defaultFillPriorPath()
    @Flag(
        help: "Extrapolate the decoder's trajectory past the first and last recorded frames (default: hold it there).")
    var extrapolateTemplate = false
    @Flag(
        help:
            "Skip LEONARDO: fill by the fbm residual alone (exact Gaussian conditioning, milliseconds per window; 'fill' only)."
    ) var noDecoder = false
    @Option(help: "Coverage of the pointwise band.") var bandLevel: Double = 0.9
    @Option(
        help:
            "Latent step scale: comma-separated half-widths, one per latent coordinate (default: calibrated on the train particles of --split, paper 003)."
    ) var stepScale: String?
    @Option(help: "Frames between the two windows of one particle whose latent distance calibrates the step.")
    var calibrationShift: Int = 10
    @Option(help: "Experimental trajectories the step is calibrated on (train particles of --split).") var realData:
        String = defaultRealDataPath()
    @Option(help: "Particle split of --real-data (JSON).") var split: String = defaultRealSplitPath()
    @Option(help: "Seed of every random draw.") var seed: UInt64 = 1

    func settings() throws -> LatentMonteCarlo.Settings {
        var s = LatentMonteCarlo.Settings()
        s.chains = chains
        s.steps = steps
        s.burnIn = burnIn
        s.completions = completions
        s.bandLevel = bandLevel
        s.sampleFrameNoise = sampleFrameNoise
        s.adaptScale = !fixedStepScale
        guard let move = LatentMonteCarlo.Proposal(rawValue: proposal) else {
            throw UserError("--proposal must be pcn or uniform, got '\(proposal)'")
        }
        s.proposal = move
        guard let r = LatentMonteCarlo.Residual(rawValue: residual) else {
            throw UserError("--residual must be fbm, rw or white, got '\(residual)'")
        }
        s.residual = r
        s.holdTemplateOutsideRecorded = !extrapolateTemplate
        s.useDecoder = !noDecoder
        try s.validate()
        return s
    }

    /// The model and the sampler, the step scale given or calibrated.
    func sampler() throws -> (LatentMonteCarlo, calibration: String) {
        let s = try settings()
        let prior = residualPrior == "none" ? nil : try FillPriorFile.read(residualPrior)
        let model = try Leonardo.load(checkpoint)
        let L = model.config.latentDim
        if let text = stepScale {
            let values = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard values.count == L, let scale = values as? [Double], scale.allSatisfy({ $0 > 0 && $0.isFinite }) else {
                throw UserError("--step-scale needs \(L) positive comma-separated numbers, got '\(text)'")
            }
            return (try LatentMonteCarlo(model: model, stepScale: scale, settings: s, residualPrior: prior), "given")
        }
        guard calibrationShift >= 1 else { throw UserError("--calibration-shift must be ≥ 1, got \(calibrationShift)") }
        let set = try TrajectorySet.read(realData)
        let parts = try ParticleSplit.read(split)
        guard parts.particles == set.count else {
            throw UserError("\(split) splits \(parts.particles) particles but \(realData) holds \(set.count)")
        }
        let scale = try LatentMonteCarlo.calibrateStepScale(
            model: model, trajectories: set.subset(parts.train), shift: calibrationShift)
        return (
            try LatentMonteCarlo(model: model, stepScale: scale, settings: s, residualPrior: prior),
            "calibrated on \(parts.train.count) train particles, windows \(calibrationShift) frames apart"
        )
    }
}

/// `gym-runner fill` (default): complete the NaN frames of a trajectory file.
struct FillTrajectories: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Fill lost frames (NaN) or frames between sparse ones with LEONARDO completions.",
        discussion: """
            Reads --data (HDF5 'trajectories', N×T×2, NaN in x and y where a frame was lost). With --every K the \
            recorded frames lie K model frames apart (a frame rate K times lower than the model's), and the output \
            has (T−1)·K+1 frames. Longer trajectories are filled in windows of the model's length. Writes --out with \
            'filled' (the posterior mean; recorded frames as recorded), 'lower' and 'upper' (the pointwise band of what \
            the tracker would have recorded), 'completions' (N×K×T×2 draws), 'recorded' (1 where a frame was \
            recorded), and per trajectory 'acceptance_rate', 'effective_sample_size' and 'trustworthy' (0 where the \
            sampler's diagnostics say not to trust the band; a warning is printed), and the fitted fbm residual \
            'hurst', 'diffusivity' (data units² per frame^2H) and 'localization_precision' (√r, data units; mean \
            over windows; NaN for --residual rw or white). docs/between-frames.md.
            """)

    @Option(help: "Trajectories with lost frames (HDF5 'trajectories', N×T×2, NaN where lost).") var data: String
    @Option(help: "Model frames between consecutive input frames (1: the input is at the model's frame rate).")
    var every: Int = 1
    @Option(help: "Output HDF5 file.") var out: String = "filled.h5"
    @OptionGroup var sampling: SamplerOptions
    @OptionGroup var overwriting: OverwriteOption

    func validate() throws {
        try requireRange(every, 1...64, "--every")
    }

    func run() throws {
        let f = try HDF5File.open(data)
        let shape = try f.shape("trajectories")
        guard shape.count == 3, shape[2] == 2, shape[0] >= 1, shape[1] >= 2 else {
            f.close()
            throw UserError("\(data): dataset 'trajectories' has shape \(shape), expected N×T×2 with T ≥ 2")
        }
        let raw = try f.readDouble("trajectories").data
        f.close()
        let (sampler, calibration) = try sampling.sampler()
        try claimOutput(out, inputs: [data, sampling.checkpoint], overwrite: overwriting.overwrite)
        let n = shape[0]
        let inputFrames = shape[1]
        let T = (inputFrames - 1) * every + 1
        let windowLength = sampler.model.config.length
        let K = sampler.settings.completions
        print(sampling.noDecoder ? "no decoder: fbm residual alone" : "latent step scale: \(calibration)")
        var filled = [Double](repeating: .nan, count: n * T * 2)
        var lower = filled
        var upper = filled
        var completions = [Double](repeating: .nan, count: n * K * T * 2)
        var recorded = [Int64](repeating: 0, count: n * T)
        var acceptance = [Double](repeating: 0, count: n)
        var ess = [Double](repeating: 0, count: n)
        var trustworthy = [Int64](repeating: 1, count: n)
        // Windows of the model's length; the last one ends at the last frame (overlapping frames keep the earlier).
        let starts: [Int] =
            T <= windowLength
            ? [0] : Array(Swift.stride(from: 0, to: T - windowLength, by: windowLength)) + [T - windowLength]
        // Every window is checked before any is sampled: a bad trajectory fails at once, not after the others.
        func window(_ i: Int, _ start: Int) -> [Double] {
            var grid = [Double](repeating: .nan, count: T * 2)
            for k in 0..<inputFrames {
                grid[2 * k * every] = raw[(i * inputFrames + k) * 2]
                grid[2 * k * every + 1] = raw[(i * inputFrames + k) * 2 + 1]
            }
            return Array(grid[(2 * start)..<(2 * min(T, start + windowLength))])
        }
        func place(_ i: Int, _ start: Int) -> String {
            starts.count > 1
                ? "trajectory \(i), frames \(start)–\(min(T, start + windowLength) - 1)" : "trajectory \(i)"
        }
        for i in 0..<n {
            for start in starts {
                let positions = window(i, start)
                do {
                    _ = try sampler.validate(positions: positions, length: positions.count / 2)
                } catch let error as LeonardoError {
                    throw UserError("\(data), \(place(i, start)): \(error.description)")
                }
            }
        }
        let bar = ProgressBar(total: n * starts.count, label: "fill")
        var rng = Xoshiro256StarStar(seed: sampling.seed)
        var warnings = 0
        // The fbm residual's fit per trajectory (mean over its windows; NaN for the other residuals).
        var residualFit = [[Double]](repeating: [Double](repeating: .nan, count: n), count: 3)
        for i in 0..<n {
            var minESS = Double.infinity
            var acceptances = [Double]()
            var fits = [FractionalNoise]()
            var covered = 0
            for (w, start) in starts.enumerated() {
                let end = min(T, start + windowLength)
                let result = try sampler.fill(positions: window(i, start), rng: &rng)
                for t in max(start, covered)..<end {
                    let local = t - start
                    recorded[i * T + t] = result.observed[local] ? 1 : 0
                    for a in 0..<2 {
                        filled[(i * T + t) * 2 + a] = result.mean[2 * local + a]
                        lower[(i * T + t) * 2 + a] = result.lower[2 * local + a]
                        upper[(i * T + t) * 2 + a] = result.upper[2 * local + a]
                        for k in 0..<K {
                            completions[((i * K + k) * T + t) * 2 + a] =
                                result.completions[(k * result.length + local) * 2 + a]
                        }
                    }
                }
                covered = end
                minESS = min(minESS, result.effectiveSampleSize)
                acceptances.append(result.acceptanceRate)
                if let m = result.residualModel { fits.append(m) }
                if !result.trustworthy {
                    trustworthy[i] = 0
                    warnings += 1
                    for message in result.warnings {
                        FileHandle.standardError.write(Data("warning: trajectory \(i) window \(w): \(message)\n".utf8))
                    }
                }
                bar.update(i * starts.count + w + 1, String(format: "ESS %.0f", result.effectiveSampleSize))
            }
            acceptance[i] = acceptances.reduce(0, +) / Double(acceptances.count)
            ess[i] = minESS
            if !fits.isEmpty {
                let k = Double(fits.count)
                residualFit[0][i] = fits.map(\.hurst).reduce(0, +) / k
                residualFit[1][i] = fits.map(\.diffusivity).reduce(0, +) / k
                residualFit[2][i] = fits.map { $0.noiseVariance.squareRoot() }.reduce(0, +) / k
            }
        }
        bar.finish()
        try writeHDF5Atomically(out) { h in
            try h.write("filled", filled, shape: [n, T, 2])
            try h.write("lower", lower, shape: [n, T, 2])
            try h.write("upper", upper, shape: [n, T, 2])
            try h.write("completions", completions, shape: [n, K, T, 2])
            try h.write("recorded", recorded, shape: [n, T])
            try h.write("acceptance_rate", acceptance, shape: [n])
            try h.write("effective_sample_size", ess, shape: [n])
            try h.write("trustworthy", trustworthy, shape: [n])
            try h.write("hurst", residualFit[0], shape: [n])
            try h.write("diffusivity", residualFit[1], shape: [n])
            try h.write("localization_precision", residualFit[2], shape: [n])
            try h.setAttribute("residual", sampler.settings.residual.rawValue)
            try h.setAttribute("checkpoint", sampling.checkpoint)
            try h.setAttribute("data", data)
            try h.setAttribute("every", every)
            try h.setAttribute("band_level", sampler.settings.bandLevel)
            try h.setAttribute("step_scale", sampler.stepScale)
            try h.setAttribute("seed", Double(sampling.seed))
        }
        let sortedESS = ess.sorted()
        let counts = String(
            format: "filled %d trajectories of %d frames (%d recorded, %d filled)", n, T,
            recorded.filter { $0 == 1 }.count, n * T - recorded.filter { $0 == 1 }.count)
        print(
            sampling.noDecoder
                ? counts + "; exact Gaussian draws (no decoder)"
                : counts
                    + String(
                        format: "; acceptance %.2f, ESS median %.0f", acceptance.reduce(0, +) / Double(n),
                        sortedESS[n / 2]))
        if warnings > 0 {
            print("\(warnings) window(s) flagged untrustworthy (see the warnings; 'trustworthy' is 0 for them)")
        }
        print("wrote \(out)")
    }
}

/// `gym-runner fill validate`: hide recorded frames of real test particles and score the completions.
struct FillValidate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Hide frames of real particles the model never saw, fill them, and score against the truth.",
        discussion: """
            Takes the first --frames frames of the --part particles of --split (default: the test particles), hides \
            frames as each --losses scenario says (random:F, burst:F[:MEAN], every:K), fills them by latent Monte \
            Carlo and by three baselines (the random walk + localisation noise smoother, linear interpolation, the \
            Brownian bridge), and prints per scenario the RMSE on the hidden frames (nm), the paired difference to \
            linear interpolation with a 95 % interval, the coverage of the band, and the MSD exponent and VACF(1) of \
            true, completed and interpolated trajectories. --json writes every case; --plot an SVG of one particle.
            """)

    @Option(help: "Which particles of the split are filled: test, validation or train.") var part: String = "test"
    @Option(help: "Use only the first N particles of the part (default: all).") var particles: Int?
    @Option(help: "Frames of each particle (from the first; at most the model's length).") var frames: Int?
    @Option(help: "Comma-separated frame-loss scenarios.") var losses: String =
        "random:0.3,burst:0.3,every:2,every:4,every:8"
    @Option(help: "Write every case as JSON.") var json: String?
    @Option(help: "Write an SVG of the first particle under the scenario --plot-loss.") var plot: String?
    @Option(help: "Scenario of the plot.") var plotLoss: String = "every:4"
    @OptionGroup var sampling: SamplerOptions
    @OptionGroup var overwriting: OverwriteOption

    func validate() throws {
        guard ["test", "validation", "train"].contains(part) else {
            throw ValidationError("--part must be test, validation or train, got '\(part)'")
        }
        if let p = particles { try requireRange(p, 1...100_000, "--particles") }
        if let f = frames { try requireRange(f, 3...100_000, "--frames") }
    }

    func run() throws {
        guard !sampling.noDecoder else {
            throw UserError(
                "fill validate scores the sampler against 'fBm + noise (no decoder)' already: drop --no-decoder")
        }
        let scenarios = try losses.split(separator: ",").map { try FrameLoss(parsing: String($0)) }
        guard !scenarios.isEmpty else { throw UserError("--losses names no scenario") }
        let plotScenario = try FrameLoss(parsing: plotLoss)
        let (sampler, calibration) = try sampling.sampler()
        for output in [json, plot].compactMap({ $0 }) {
            try claimOutput(output, inputs: [sampling.realData, sampling.checkpoint], overwrite: overwriting.overwrite)
        }
        let set = try TrajectorySet.read(sampling.realData)
        let split = try ParticleSplit.read(sampling.split)
        let chosen = part == "test" ? split.test : part == "validation" ? split.validation : split.train
        let ids = Array(chosen.prefix(particles ?? chosen.count))
        let T = frames ?? sampler.model.config.length
        guard T <= sampler.model.config.length, T <= set.length else {
            throw UserError(
                "--frames \(T) exceeds the model's length (\(sampler.model.config.length)) or the data's (\(set.length))"
            )
        }
        let truths = ids.map { i in
            (0..<(T * 2)).map { k in Double(set.trajectories[i * set.length * 2 + k]) }
        }
        print("latent step scale: \(calibration)")
        print("\(ids.count) \(part) particles, first \(T) frames; \(scenarios.count) scenarios")
        let bar = ProgressBar(total: ids.count * scenarios.count, label: "fill validate")
        let results = try FillValidation.run(
            sampler: sampler, trajectories: truths, losses: scenarios, seed: sampling.seed,
            progress: { bar.update($0) })
        bar.finish()
        print(Self.table(results))
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.nonConformingFloatEncodingStrategy = .convertToString(
                positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            struct Report: Codable {
                var particles: [Int]
                var frames: Int
                var methods: [String]
                var stepScale: [Double]
                var scenarios: [FillValidation.Scenario]
            }
            let report = Report(
                particles: ids, frames: T, methods: FillValidation.methods, stepScale: sampler.stepScale,
                scenarios: results)
            try writeAtomically(json, try encoder.encode(report))
            print("wrote \(json)")
        }
        if let plot, let truth = truths.first {
            var rng = Xoshiro256StarStar(seed: sampling.seed)
            let observed = plotScenario.mask(length: T, rng: &rng)
            let result = try sampler.fill(positions: FrameLoss.hide(truth, keeping: observed), rng: &rng)
            let svg = FillPlot(
                title: "Particle \(ids[0]) (\(part)), \(plotScenario.description): latent Monte Carlo completions",
                truth: truth, observed: observed, result: result,
                bandLevel: sampler.settings.bandLevel
            ).svg()
            try writeAtomically(plot, Data(svg.utf8))
            print("wrote \(plot)")
        }
    }

    /// The report's table: one block per scenario.
    static func table(_ scenarios: [FillValidation.Scenario]) -> String {
        var lines = [String]()
        let methods = FillValidation.methods
        lines.append(
            "scenario                     method                        RMSE nm   Δ vs linear (95 % CI)   band coverage"
        )
        for s in scenarios {
            let rmse = s.meanRMSE
            let coverage = s.pooledCoverage
            for (m, name) in methods.enumerated() {
                let d = s.pairedRMSEDifference(m, 2)
                let delta = m == 2 ? "—" : String(format: "%+.2f ± %.2f", d.mean, d.halfWidth)
                let cov = coverage[m].isNaN ? "—" : String(format: "%.1f %%", 100 * coverage[m])
                lines.append(
                    (m == 0 ? s.loss : "").padding(toLength: 29, withPad: " ", startingAt: 0)
                        + name.padding(toLength: 30, withPad: " ", startingAt: 0)
                        + String(format: "%7.2f", rmse[m]).padding(toLength: 10, withPad: " ", startingAt: 0)
                        + delta.padding(toLength: 24, withPad: " ", startingAt: 0) + cov)
            }
            func medianOf(_ k: Int, _ key: KeyPath<FillValidation.Case, [Double]>) -> Double {
                let v = s.cases.map { $0[keyPath: key][k] }.filter(\.isFinite).sorted()
                return v.isEmpty ? .nan : v[v.count / 2]
            }
            let ess = s.cases.map(\.effectiveSampleSize).sorted()
            let acc = s.cases.map(\.acceptanceRate).reduce(0, +) / Double(s.cases.count)
            lines.append(
                String(
                    format:
                        "%29@median α (MSD lags 1–10) true %.2f, completion %.2f, mean %.2f, linear %.2f; VACF(1) %.2f / %.2f / %.2f / %.2f",
                    "", medianOf(0, \.msdExponent), medianOf(1, \.msdExponent), medianOf(2, \.msdExponent),
                    medianOf(3, \.msdExponent), medianOf(0, \.vacf1), medianOf(1, \.vacf1), medianOf(2, \.vacf1),
                    medianOf(3, \.vacf1)))
            lines.append(
                String(
                    format: "%29@sampler: acceptance %.2f, ESS median %.0f (min %.0f), %d of %d flagged untrustworthy",
                    "",
                    acc, ess[ess.count / 2], ess.first ?? 0, s.cases.filter { !$0.trustworthy }.count, s.cases.count))
        }
        return lines.joined(separator: "\n")
    }
}

/// Two panels (x and y against frame): the true trajectory, its recorded frames, the hidden true positions, the
/// latent Monte Carlo band, a few completions and the posterior mean.
struct FillPlot {
    var title: String
    var truth: [Double]
    var observed: [Bool]
    var result: LatentMonteCarlo.Result
    var bandLevel: Double
    var width = 900.0
    var panelHeight = 240.0

    func svg() -> String {
        let T = observed.count
        let left = 64.0
        let right = 16.0
        let top = 40.0
        let gap = 44.0
        let height = top + 2 * panelHeight + gap + 60
        var out =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        out += "<text x=\"\(left)\" y=\"22\" font-size=\"14\">\(escapeXML(title))</text>\n"
        let K = min(5, result.completions.count / (2 * T))
        for a in 0..<2 {
            let y0 = top + Double(a) * (panelHeight + gap)
            var values = [Double]()
            for t in 0..<T {
                for v in [truth[2 * t + a], result.lower[2 * t + a], result.upper[2 * t + a]] where v.isFinite {
                    values.append(v)
                }
            }
            let lo = values.min() ?? 0
            let hi = max(values.max() ?? 1, lo + 1e-9)
            let plotWidth = width - left - right
            let frames = Double(max(T - 1, 1))
            func px(_ t: Double) -> Double { left + t / frames * plotWidth }
            func py(_ v: Double) -> Double { y0 + (hi - v) / (hi - lo) * panelHeight }
            func path(_ v: (Int) -> Double) -> String {
                (0..<T).map { String(format: "%@%.1f,%.1f", $0 == 0 ? "M" : "L", px(Double($0)), py(v($0))) }.joined()
            }
            out += String(
                format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#999\"/>\n",
                left, y0, width - left - right, panelHeight)
            // Band: upper forwards, lower backwards.
            var band = (0..<T).map {
                String(format: "%@%.1f,%.1f", $0 == 0 ? "M" : "L", px(Double($0)), py(result.upper[2 * $0 + a]))
            }
            .joined()
            band += (0..<T).reversed().map {
                String(format: "L%.1f,%.1f", px(Double($0)), py(result.lower[2 * $0 + a]))
            }
            .joined()
            out += "<path d=\"\(band)Z\" fill=\"#9ecae1\" fill-opacity=\"0.5\" stroke=\"none\"/>\n"
            for k in 0..<K {
                out +=
                    "<path d=\"\(path { result.completions[(k * T + $0) * 2 + a] })\" fill=\"none\" stroke=\"#6baed6\" stroke-width=\"0.7\"/>\n"
            }
            out += "<path d=\"\(path { truth[2 * $0 + a] })\" fill=\"none\" stroke=\"#444\" stroke-width=\"1\"/>\n"
            out +=
                "<path d=\"\(path { result.mean[2 * $0 + a] })\" fill=\"none\" stroke=\"#d62728\" stroke-width=\"1.2\"/>\n"
            for t in 0..<T {
                if observed[t] {
                    out += String(
                        format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\" fill=\"#222\"/>\n", px(Double(t)),
                        py(truth[2 * t + a]))
                } else {
                    out += String(
                        format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.2\" fill=\"white\" stroke=\"#222\"/>\n",
                        px(Double(t)), py(truth[2 * t + a]))
                }
            }
            out += String(
                format:
                    "<text x=\"14\" y=\"%.1f\" transform=\"rotate(-90 14 %.1f)\" text-anchor=\"middle\">%@ (nm)</text>\n",
                y0 + panelHeight / 2, y0 + panelHeight / 2, a == 0 ? "x" : "y")
            out += String(
                format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>\n", left - 4, y0 + 10, hi)
            out += String(
                format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>\n", left - 4, y0 + panelHeight, lo)
        }
        let yAxis = top + 2 * panelHeight + gap
        out += String(
            format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">frame (0–%d)</text>\n", (left + width) / 2,
            yAxis + 4, T - 1)
        let legend = [
            ("#222", "recorded frames (filled dots); hidden true positions (open)"), ("#444", "true trajectory"),
            ("#d62728", "posterior mean"), ("#6baed6", "completions"),
            ("#9ecae1", String(format: "%.0f %% band", 100 * bandLevel))
        ]
        var x = left
        for (color, label) in legend {
            out += String(
                format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"8\" fill=\"%@\"/>\n", x, yAxis + 16, color)
            out += String(format: "<text x=\"%.1f\" y=\"%.1f\">%@</text>\n", x + 16, yAxis + 24, escapeXML(label))
            x += 24 + LinePlot.textWidth(label)
        }
        out += "</svg>\n"
        return out
    }

}

/// The fbm residual's population prior on disk: JSON with the prior and what it was learned from.
enum FillPriorFile {
    static func read(_ path: String) throws -> FractionalNoise.Prior {
        do {
            return try FractionalNoise.Prior.read(path)
        } catch LeonardoError.fileNotFound {
            throw UserError("\(path): cannot read the residual prior (write one with 'gym-runner fill learn-prior')")
        } catch let error as LeonardoError {
            throw UserError("\(error)")
        }
    }
}

/// `gym-runner fill learn-prior`: the fbm residual's population prior from the train particles.
struct FillLearnPrior: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "learn-prior",
        abstract: "Learn the population prior of the fbm residual (D, H, noise share) from the train particles.",
        discussion: """
            Fits fractional Brownian motion through localisation noise by maximum likelihood to the first --frames \
            frames of each train particle of --split, and writes the median and covariance of the fitted \
            (log D, logit H, logit noise share) with the tempering --weight as JSON (the shipped one: \
            Environments/models/fill-residual-prior-v1.json). docs/between-frames.md.
            """)

    @Option(help: "Experimental trajectories (HDF5).") var realData: String = defaultRealDataPath()
    @Option(help: "Particle split of --real-data (JSON); only its train particles are used.") var split: String =
        defaultRealSplitPath()
    @Option(help: "Use only the first N train particles (default: all).") var particles: Int?
    @Option(help: "Frames of each particle (from the first).") var frames: Int = 200
    @Option(help: "Tempering of the prior (its penalty is weight × ½ Mahalanobis²).") var weight: Double = 3
    @Option(help: "Output JSON.") var out: String = "fill-residual-prior.json"
    @OptionGroup var overwriting: OverwriteOption

    func validate() throws {
        if let p = particles { try requireRange(p, 4...100_000, "--particles") }
        try requireRange(frames, 10...100_000, "--frames")
        guard weight >= 0, weight.isFinite else { throw ValidationError("--weight must be ≥ 0, got \(weight)") }
    }

    func run() throws {
        let set = try TrajectorySet.read(realData)
        let parts = try ParticleSplit.read(split)
        guard parts.particles == set.count else {
            throw UserError("\(split) splits \(parts.particles) particles but \(realData) holds \(set.count)")
        }
        guard frames <= set.length else { throw UserError("--frames \(frames) exceeds the data's \(set.length)") }
        try claimOutput(out, inputs: [realData, split], overwrite: overwriting.overwrite)
        let ids = Array(parts.train.prefix(particles ?? parts.train.count))
        let trajectories = ids.map { i in (0..<(frames * 2)).map { Double(set.trajectories[i * set.length * 2 + $0]) } }
        let bar = ProgressBar(total: ids.count, label: "learn-prior")
        let prior = try FractionalNoise.learnPrior(trajectories: trajectories, weight: weight) { bar.update($0) }
        bar.finish()
        let typical = prior.typical
        let description = String(
            format:
                "fBm + localisation noise prior: %d train particles of %@, first %d frames; typical D %.3g, H %.3f, √r %.3g (data units)",
            prior.particles, (realData as NSString).lastPathComponent, frames, typical.diffusivity, typical.hurst,
            typical.noiseVariance.squareRoot())
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeAtomically(out, try encoder.encode(FractionalNoise.Prior.File(description: description, prior: prior)))
        print(description)
        print("wrote \(out)")
    }
}
