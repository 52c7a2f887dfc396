import ArgumentParser
import Foundation
import LeonardoSim
import MicroscopeGym

/// Parses "a:b:n" into n log-spaced values from a to b (n = 1 gives a).
func parseGrid(_ s: String, flag: String) throws -> [Double] {
    let p = s.split(separator: ":").map { String($0) }
    guard p.count == 3, let a = Double(p[0]), let b = Double(p[1]), let n = Int(p[2]), a > 0, b >= a, n >= 1 else {
        throw ValidationError("\(flag) must be LOW:HIGH:COUNT with 0 < LOW ≤ HIGH and COUNT ≥ 1, got '\(s)'")
    }
    if n == 1 { return [a] }
    return (0..<n).map { i in a * pow(b / a, Double(i) / Double(n - 1)) }
}

/// Writes a sweep table and its CSV and SVG next to it.
func writeSweep(_ table: SweepTable, to out: String) throws {
    try table.write(out)
    let base = (out as NSString).deletingPathExtension
    try writeAtomically(base + ".csv", Data(table.csv().utf8))
    try writeAtomically(base + ".svg", Data(table.heatmapSVG().utf8))
}

func printSweep(_ table: SweepTable) {
    print("| dose rate | frame rate | return (mean ± 95% CI) | signal | damage | length | destroyed |")
    print("|---:|---:|---|---:|---:|---:|---:|")
    for i in table.results.keys.sorted() {
        let r = table.results[i]!
        print(String(format: "| %g | %g | %.2f ± %.2f | %.1f | %.3f | %.1f | %.2f |", r.doseRate, r.frameRate, r.episodeReturn.mean,
                     r.episodeReturn.ci95, r.signal.mean, r.damage.mean, r.length.mean, r.destroyedFraction))
    }
    if table.isComplete, let b = table.best {
        print(String(format: "best fixed setting: %g e⁻/Å²/s at %g frames/s, return %.2f ± %.2f", b.doseRate, b.frameRate, b.episodeReturn.mean, b.episodeReturn.ci95))
    }
    if let o = table.hindsightOracle {
        print(String(format: "hindsight per-particle best setting: return %.2f ± %.2f, paired gain over the best fixed %.2f ± %.2f "
                     + "(the most that choosing one setting per particle could gain)",
                     o.perEpisodeBest.mean, o.perEpisodeBest.ci95, o.gainOverBestFixed.mean, o.gainOverBestFixed.ci95))
    }
}

struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "In-silico experiment design: evaluate every fixed (dose rate, frame rate) setting of a grid.",
        discussion: """
        For every setting, runs --episodes episodes (seeds S, S+1, …, the same for every setting) and reports mean \
        return, signal, damage and episode length with 95% confidence intervals. Writes --out (HDF5) plus .csv and \
        an .svg heat map next to it. --shard k/K evaluates every K-th setting starting at k (for a Slurm array: \
        --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT); 'gym-runner merge' joins the parts.
        """)

    @OptionGroup var environment: EnvironmentOptions
    @Option(help: "Dose rates LOW:HIGH:COUNT, log-spaced (default: the environment's grid).") var dose: String?
    @Option(help: "Frame rates LOW:HIGH:COUNT, log-spaced (default: the environment's grid).") var frameRate: String?
    @Option(help: "Episodes per setting.") var episodes: Int = 8
    @Option(help: "Seed of the first episode.") var seed: UInt64 = 1000
    @Option(help: "Evaluate part k of K (k counts from 0), e.g. 0/4.") var shard: String = "0/1"
    @Option(help: "Output HDF5 file (.csv and .svg are written next to it).") var out: String = "sweep.h5"

    func parseShard() throws -> (Int, Int) {
        let p = shard.split(separator: "/").map { Int($0) }
        guard p.count == 2, let k = p[0], let n = p[1], n >= 1, k >= 0, k < n else {
            throw ValidationError("--shard must be k/K with 0 ≤ k < K, got '\(shard)'")
        }
        return (k, n)
    }

    func validate() throws {
        if episodes < 1 { throw ValidationError("--episodes must be at least 1") }
        _ = try parseShard()
        if let dose { _ = try parseGrid(dose, flag: "--dose") }
        if let frameRate { _ = try parseGrid(frameRate, flag: "--frame-rate") }
    }

    func run() throws {
        let cell = try environment.make()
        let doses = try dose.map { try parseGrid($0, flag: "--dose") } ?? cell.spec.doseRates
        let frames = try frameRate.map { try parseGrid($0, flag: "--frame-rate") } ?? cell.spec.frameRates
        let (k, n) = try parseShard()
        let count = (0..<(doses.count * frames.count)).filter { $0 % n == k }.count
        let bar = ProgressBar(total: count, label: "sweep \(k)/\(n)")
        let table: SweepTable
        do {
            table = try SweepTable.run(cell, doseRates: doses, frameRates: frames, episodes: episodes, seed: seed, shard: k, of: n) { done, _ in bar.update(done) }
        } catch let e as EnvironmentError { throw UserError(e.description) }
        bar.finish()
        try writeSweep(table, to: out)
        printSweep(table)
        print("wrote \(out) (+ .csv, .svg)")
    }
}

struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Join the shards of a sweep into one table.")
    @Argument(help: "Sweep part files (HDF5).") var parts: [String]
    @Option(help: "Output HDF5 file (.csv and .svg are written next to it).") var out: String
    func validate() throws { if parts.isEmpty { throw ValidationError("give the sweep part files to merge") } }
    func run() throws {
        let merged: SweepTable
        do { merged = try SweepTable.merge(try parts.map { try SweepTable.read($0) }) } catch let e as EnvironmentError { throw UserError(e.description) }
        if !merged.isComplete {
            print("warning: \(merged.results.count) of \(merged.doseRates.count * merged.frameRates.count) settings present (missing shards?)")
        }
        try writeSweep(merged, to: out)
        printSweep(merged)
        print("wrote \(out) (+ .csv, .svg)")
    }
}
