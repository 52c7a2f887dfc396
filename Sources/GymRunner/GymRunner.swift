import Agents
import ArgumentParser
import Foundation
import LeonardoSim
import MicroscopeGym

@main
struct GymRunner: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gym-runner",
        abstract:
            "MicroscopeGym: the LEONARDO liquid-cell TEM simulator, agents that operate it, training and benchmarks.",
        subcommands: [
            Train.self, Evaluate.self, Trace.self, List.self, Check.self, LeonardoFamily.self, DataFamily.self,
            FidelityFamily.self, FillFamily.self, DesignFamily.self, Study.self, Slurm.self, PerfFamily.self
        ] + formerNames,
        defaultSubcommand: Train.self)

    /// Parses, runs, and reports any error as one line: the libraries' errors through `userError(_:)`.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: userError(error))
        }
    }
}

/// The one mapping from the libraries' errors to the CLI's message (`Error: …`, exit 1): each library error's
/// description already says what to fix; anything else (ArgumentParser's own, `UserError`, `ExitCode`) passes as it is.
func userError(_ error: Error) -> Error {
    switch error {
    case let e as LeonardoError: UserError(e.description)
    case let e as EnvironmentError: UserError(e.description)
    case let e as SweepError: UserError(e.description)
    case let e as StateError: UserError(e.description)
    case let e as AgentError: UserError(e.description)
    case let e as TrainingError: UserError(e.description)
    default: error
    }
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
