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
            Train.self, Evaluate.self, Trace.self, List.self, Check.self, LeonardoFamily.self, DataFamily.self,
            FidelityFamily.self, DesignFamily.self, Study.self, Slurm.self, PerfFamily.self
        ] + formerNames,
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
