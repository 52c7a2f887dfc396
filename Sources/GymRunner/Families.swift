import ArgumentParser
import Foundation

// The command families of `gym-runner`: what a user runs every day at the top (train, evaluate, trace, list, check),
// everything else in a family named for what it works on. Every command name from before the families still runs
// (`FormerName`, hidden from help).

/// `gym-runner leonardo …`: the trajectory model itself.
struct LeonardoFamily: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "leonardo",
        abstract: "The LEONARDO model: train it, decode and encode trajectories, calibrate its dose axis and prior.",
        subcommands: [
            TrainLeonardo.self, Generate.self, Encode.self, CalibrateDose.self, MatchDose.self, FitPrior.self,
            PlotCurve.self
        ])
}

/// `gym-runner data …`: trajectory files.
struct DataFamily: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Trajectory data: make synthetic sets, summarise files, split the real particles.",
        subcommands: [Dataset.self, Stats.self, SplitReal.self])
}

/// `gym-runner fidelity …`: how realistic generated trajectories are.
struct FidelityFamily: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fidelity",
        abstract: "Realism: the classifier-based report, the judge (battery and two-sample tests), the classifier.",
        subcommands: [Fidelity.self, Judge.self, TrainClassifier.self],
        defaultSubcommand: Fidelity.self)
}

/// `gym-runner design …`: in-silico experiment design over fixed settings.
struct DesignFamily: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "design",
        abstract: "Experiment design: sweep fixed settings, merge sweep shards, measure the headroom of adapting.",
        subcommands: [Sweep.self, Merge.self, HeadroomCommand.self])
}

/// `gym-runner perf …`: speed and memory.
struct PerfFamily: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perf",
        abstract: "Performance: the speed benchmark (kernels, decoder, training, environments) and the memory soak.",
        subcommands: [Bench.self, Soak.self])
}

/// A command that had a top-level name before the families.
protocol FormerlyTopLevel: ParsableCommand {
    /// The old top-level name (e.g. "train-leonardo").
    static var formerName: String { get }
    /// The command's path now (e.g. "leonardo train").
    static var currentPath: String { get }
}

/// The old top-level name of a command (e.g. `gym-runner train-leonardo` for `gym-runner leonardo train`): hidden
/// from help, it parses and runs exactly the same command.
struct FormerName<Command: FormerlyTopLevel>: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: Command.formerName,
            abstract: "Former name of 'gym-runner \(Command.currentPath)': \(Command.configuration.abstract)",
            shouldDisplay: false)
    }
    @OptionGroup var command: Command

    func run() throws {
        var command = command
        try command.run()
    }
}

extension TrainLeonardo: FormerlyTopLevel {
    static let formerName = "train-leonardo"
    static let currentPath = "leonardo train"
}
extension Generate: FormerlyTopLevel {
    static let formerName = "generate"
    static let currentPath = "leonardo generate"
}
extension Encode: FormerlyTopLevel {
    static let formerName = "encode"
    static let currentPath = "leonardo encode"
}
extension CalibrateDose: FormerlyTopLevel {
    static let formerName = "calibrate-dose"
    static let currentPath = "leonardo calibrate-dose"
}
extension MatchDose: FormerlyTopLevel {
    static let formerName = "match-dose"
    static let currentPath = "leonardo match-dose"
}
extension FitPrior: FormerlyTopLevel {
    static let formerName = "fit-prior"
    static let currentPath = "leonardo fit-prior"
}
extension PlotCurve: FormerlyTopLevel {
    static let formerName = "plot-curve"
    static let currentPath = "leonardo plot-curve"
}
extension Dataset: FormerlyTopLevel {
    static let formerName = "dataset"
    static let currentPath = "data make"
}
extension Stats: FormerlyTopLevel {
    static let formerName = "stats"
    static let currentPath = "data stats"
}
extension SplitReal: FormerlyTopLevel {
    static let formerName = "split-real"
    static let currentPath = "data split-real"
}
extension Judge: FormerlyTopLevel {
    static let formerName = "judge"
    static let currentPath = "fidelity judge"
}
extension TrainClassifier: FormerlyTopLevel {
    static let formerName = "train-classifier"
    static let currentPath = "fidelity train-classifier"
}
extension Sweep: FormerlyTopLevel {
    static let formerName = "sweep"
    static let currentPath = "design sweep"
}
extension Merge: FormerlyTopLevel {
    static let formerName = "merge"
    static let currentPath = "design merge"
}
extension HeadroomCommand: FormerlyTopLevel {
    static let formerName = "headroom"
    static let currentPath = "design headroom"
}
extension Benchmark: FormerlyTopLevel {
    static let formerName = "benchmark"
    static let currentPath = "study benchmark"
}
extension Bench: FormerlyTopLevel {
    static let formerName = "bench"
    static let currentPath = "perf bench"
}
extension Soak: FormerlyTopLevel {
    static let formerName = "soak"
    static let currentPath = "perf soak"
}

/// Every former top-level name, as hidden commands (`gym-runner help` lists the families instead).
let formerNames: [ParsableCommand.Type] = [
    FormerName<TrainLeonardo>.self, FormerName<Generate>.self, FormerName<Encode>.self,
    FormerName<CalibrateDose>.self, FormerName<MatchDose>.self, FormerName<FitPrior>.self,
    FormerName<PlotCurve>.self, FormerName<Dataset>.self, FormerName<Stats>.self, FormerName<SplitReal>.self,
    FormerName<Judge>.self, FormerName<TrainClassifier>.self, FormerName<Sweep>.self, FormerName<Merge>.self,
    FormerName<HeadroomCommand>.self, FormerName<Benchmark>.self, FormerName<Bench>.self, FormerName<Soak>.self
]
