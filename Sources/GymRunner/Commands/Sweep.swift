import ArgumentParser
import Foundation
import LeonardoSim
import MicroscopeGym

struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "In-silico experiment design: evaluate every fixed (dose rate, frame rate) setting of a grid.",
        discussion: """
            For every setting, runs --episodes episodes (seeds S, S+1, …, the same for every setting) and reports mean \
            return, signal, damage and episode length with 95% confidence intervals. Writes --out (HDF5) plus .csv (its 'pareto' column marks \
            the signal–damage Pareto front), an .svg heat map and a -pareto.svg of signal against damage next to it. --shard k/K evaluates every K-th setting starting at k (for a Slurm array: \
            --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT); 'gym-runner design merge' joins the parts.
            """)

    @OptionGroup var environment: EnvironmentOptions
    @Option(help: "Dose rates LOW:HIGH:COUNT, log-spaced (default: the environment's grid).") var dose: String?
    @Option(help: "Frame rates LOW:HIGH:COUNT, log-spaced (default: the environment's grid).") var frameRate: String?
    @Option(help: "Episodes per setting, 1 … 10,000.") var episodes: Int = 8
    @Option(help: "Seed of the first episode.") var seed: UInt64 = 1000
    @Option(help: "Evaluate part k of K (k counts from 0), e.g. 0/4.") var shard: String = "0/1"
    @Option(help: "Output HDF5 file (.csv and .svg are written next to it).") var out: String = "sweep.h5"
    @OptionGroup var overwriting: OverwriteOption
    @Flag(
        help:
            "Do nothing when --out already holds this shard complete, with the same environment, grid, episodes and seed (a re-submitted array task)."
    ) var skipComplete = false

    func parseShard() throws -> (Int, Int) {
        let p = shard.split(separator: "/").map { Int($0) }
        guard p.count == 2, let k = p[0], let n = p[1], n >= 1, k >= 0, k < n else {
            throw ValidationError("--shard must be k/K with 0 ≤ k < K, got '\(shard)'")
        }
        return (k, n)
    }

    func validate() throws {
        try requireRange(episodes, 1...10_000, "--episodes")
        try checkSweepPath(out, flag: "--out")
        _ = try parseShard()
        if let dose { _ = try parseGrid(dose, flag: "--dose") }
        if let frameRate { _ = try parseGrid(frameRate, flag: "--frame-rate") }
    }

    func run() throws {
        let cell = try environment.make()
        let doses = try dose.map { try parseGrid($0, flag: "--dose") } ?? cell.spec.doseRates
        let frames = try frameRate.map { try parseGrid($0, flag: "--frame-rate") } ?? cell.spec.frameRates
        let (k, n) = try parseShard()
        let mine = (0..<(doses.count * frames.count)).filter { $0 % n == k }
        if skipComplete, FileManager.default.fileExists(atPath: out) {
            if let existing = try? SweepTable.read(out), existing.environment == cell.spec.id,
                existing.doseRates == doses, existing.frameRates == frames, existing.episodes == episodes,
                existing.seed == seed, existing.results.keys.sorted() == mine
            {
                print("\(out): shard \(k)/\(n) is already complete; skipped")
                return
            }
            guard overwriting.overwrite else {
                throw UserError(
                    "\(out) holds another sweep or another shard: pass --overwrite to replace it, or choose another --out"
                )
            }
        } else {
            try claimOutput(out, inputs: environment.envFile.map { [$0] } ?? [], overwrite: overwriting.overwrite)
        }
        let count = mine.count
        let bar = ProgressBar(total: count, label: "sweep \(k)/\(n)")
        let table: SweepTable
        do {
            table = try SweepTable.run(
                cell, doseRates: doses, frameRates: frames, episodes: episodes, seed: seed, shard: k, of: n
            ) { done, _ in bar.update(done) }
        } catch SweepError.settingOutsideRange(let quantity, let value, let range) {
            throw UserError(
                "\(quantity == "dose rate" ? "--dose" : "--frame-rate"): \(quantity) \(value) outside the environment's "
                    + "range \(range)")
        }
        bar.finish()
        try writeSweep(table, to: out)
        printSweep(table)
        print("wrote \(out) (+ .csv, .svg)")
    }
}
