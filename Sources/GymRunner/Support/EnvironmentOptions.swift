import ArgumentParser
import Foundation
import LeonardoSim
import MicroscopeGym

/// Loads the environment named by --env or --env-file (shared by the commands that take one).
struct EnvironmentOptions: ParsableArguments {
    @Option(help: "Registered environment ID (see 'gym-runner list').") var env: String = "LiquidCell-v0"
    @Option(help: "Spec file of your own (JSON, the fields of Environments/LiquidCell-v0.json); overrides --env.")
    var envFile: String?

    /// The environment; `privileged` reveals its hidden state to the agent (`LiquidCell.revealingHiddenState()`),
    /// `belief` adds the belief features of each segment (`LiquidCell.observingBelief()`).
    func make(privileged: Bool = false, belief: Bool = false) throws -> LiquidCell {
        do {
            var cell = try envFile.map { try makeEnvironment(specFile: $0) } ?? makeEnvironment(id: env)
            if belief { cell = try cell.observingBelief() }
            return privileged ? cell.revealingHiddenState() : cell
        } catch EnvironmentError.unknownEnvironment(let id, let known) {
            throw UserError(
                "--env: unknown environment '\(id)' (registered: \(known.joined(separator: ", ")); a spec of your own "
                    + "goes to --env-file)")
        } catch let error as EnvironmentError {
            throw UserError(error.description)
        }
    }
}
