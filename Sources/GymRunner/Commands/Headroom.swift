import ArgumentParser
import Foundation
import LeonardoSim
import MicroscopeGym
import Agents

struct HeadroomCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "headroom",
        abstract: "How much adapting can gain in a scenario, and how much of it policies gain, on the same seeds.",
        discussion: """
            Compares, episode seed by episode seed: the best fixed setting of the grid, the hindsight per-particle \
            bound (each particle's own best setting) and each --policy (a learned agent, or one trained with \
            --privileged, which then sees the hidden state). Every figure is a mean over --episodes seeds with a 95% \
            CI; differences from the best fixed setting are paired. The sweep behind the first two rows is read \
            from --sweep when that file exists (e.g. merged from Slurm shards with the same --episodes and --seed), \
            else run here and written there.
            """)

    @OptionGroup var environment: EnvironmentOptions
    @Option(help: "A policy file to compare (repeat for several); labelled by its run folder.") var policy: [String] =
        []
    @Option(help: "Episodes (seeds --seed, --seed + 1, …), 1 … 10,000.") var episodes: Int = 200
    @Option(help: "Seed of the first episode.") var seed: UInt64 = 5_000_000
    @Option(help: "Sweep file of the environment's grid on these seeds: read if it exists, else written.")
    var sweep: String?
    @Option(help: "Markdown file for the table (also printed).") var out: String?

    func validate() throws {
        try requireRange(episodes, 1...10_000, "--episodes")
        if let sweep { try checkSweepPath(sweep, flag: "--sweep") }
    }

    func run() throws {
        let cell = try environment.make()
        let table: SweepTable
        if let sweep, FileManager.default.fileExists(atPath: sweep) {
            table = try SweepTable.read(sweep)
            guard table.environment == cell.spec.id, table.episodes == episodes, table.seed == seed else {
                throw UserError(
                    "\(sweep) is a sweep of \(table.environment) with \(table.episodes) episodes from seed "
                        + "\(table.seed), not of \(cell.spec.id) with --episodes \(episodes) --seed \(seed)")
            }
        } else {
            let bar = ProgressBar(total: cell.actionSpace.n, label: "sweep")
            table = try SweepTable.run(
                cell, doseRates: cell.spec.doseRates, frameRates: cell.spec.frameRates, episodes: episodes, seed: seed
            ) { done, _ in bar.update(done) }
            bar.finish()
            if let sweep { try writeSweep(table, to: sweep) }
        }
        let seeds = (0..<episodes).map { seed &+ UInt64($0) }
        var rows: [(label: String, returns: [Double])] = []
        for path in policy {
            let view = try PolicyFile.environment(for: path, cell)
            var agent = try PolicyFile.load(path, environment: view)
            // "run" for run/policy.h5, "run/policy-final" for another file of the run folder.
            let folder = ((path as NSString).deletingLastPathComponent as NSString).lastPathComponent
            let stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            let name = folder.isEmpty ? stem : stem == "policy" ? folder : folder + "/" + stem
            let label = name + (view.revealsHiddenState ? " (privileged)" : "")
            rows.append((label, try Evaluation.run(&agent, environment: view, seeds: seeds).returns))
        }
        let headroom = try Headroom(sweep: table, policies: rows)
        let text =
            String(
                format: "%@, %d episodes from seed %llu; best fixed setting %g e⁻/Å²/s at %g frames/s\n\n",
                cell.spec.id, episodes, seed, headroom.bestSetting.doseRate, headroom.bestSetting.frameRate)
            + headroom.markdown + "\n"
        print(text, terminator: "")
        if let out {
            try writeAtomically(out, Data(text.utf8))
            print("wrote \(out)")
        }
    }
}
