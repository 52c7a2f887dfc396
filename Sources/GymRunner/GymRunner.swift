import ArgumentParser
import Foundation
import LeonardoSim

@main
struct GymRunner: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gym-runner",
        abstract:
            "MicroscopeGym: the LEONARDO liquid-cell TEM simulator, agents that operate it, training and benchmarks.",
        subcommands: [
            Train.self, Evaluate.self, List.self, Check.self, Dataset.self, Stats.self, Generate.self, Encode.self,
            TrainLeonardo.self, PlotCurve.self, CalibrateDose.self, MatchDose.self, FitPrior.self, TrainClassifier.self,
            Fidelity.self, SplitReal.self, Sweep.self, Merge.self, Bench.self, Trace.self, Study.self, Slurm.self,
            Soak.self, Benchmark.self, HeadroomCommand.self, Judge.self
        ],
        defaultSubcommand: Train.self)
}

/// A one-line error for the user (ArgumentParser prints it as "Error: …" and exits non-zero).
struct UserError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

enum ModelSize: String, ExpressibleByArgument, CaseIterable {
    case paper, small, tiny
    var config: LeonardoConfig {
        switch self {
        case .paper: return .paper
        case .tiny: return .tiny
        case .small:
            var c = LeonardoConfig.paper
            c.embedSize = 32
            c.heads = 4
            c.bottleneckChannels = 8
            c.encoderHidden = 128
            c.decoderHidden = 256
            c.decoderChannels = 8
            return c
        }
    }
}
