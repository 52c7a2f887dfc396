import ArgumentParser
import Foundation
import LeonardoSim
import MicroscopeGym

/// Loads the environment named by --env or --env-file (shared by the commands that take one).
struct EnvironmentOptions: ParsableArguments {
    @Option(help: "Registered environment ID (see 'gym-runner list').") var env: String = "LiquidCell-v0"
    @Option(help: "Spec file of your own (JSON, the fields of Environments/LiquidCell-v0.json); overrides --env.") var envFile: String?

    func make() throws -> LiquidCell {
        do {
            if let envFile { return try makeEnvironment(specFile: envFile) }
            return try makeEnvironment(id: env)
        } catch let error as EnvironmentError {
            throw UserError(error.description)
        }
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check an environment against the API contract (spaces, seeding, reset/step, finite rewards).")
    @OptionGroup var environment: EnvironmentOptions
    @Option(help: "Seed of the check.") var seed: UInt64 = 12345

    func run() throws {
        let cell = try environment.make()
        do {
            for line in try checkEnvironment(cell, seed: seed) { print("ok: \(line)") }
            print("\(cell.spec.id): all checks passed")
        } catch let error as EnvironmentError {
            throw UserError("\(cell.spec.id): \(error)")
        }
    }
}

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the registered environments and the agents.")
    static let agentDescriptions: [AgentKind: String] = [
        .dqn: "Double DQN with n-step targets: MLP Q-network on features + instrument, replay, target network, Huber loss, Adam, ε-greedy",
        .cem: "cross-entropy method over a linear argmax policy on standardised observations",
        .random: "uniformly random actions",
        .fixed: "one setting throughout (--fixed-action; default the experimenter's default)",
        .heuristic: "a microscopist's rule: dose from the damage so far, frame rate from the step size",
        .bandit: "UCB1 over the discrete grid of settings",
    ]
    func run() throws {
        print("environments (\(EnvironmentRegistry.directory)):")
        for id in EnvironmentRegistry.ids() {
            let line: String
            if let spec = try? EnvironmentRegistry.spec(id: id) { line = spec.description } else { line = "(spec does not load: run 'gym-runner check --env \(id)')" }
            print("  \(id): \(line)")
        }
        print("agents (gym-runner --agent NAME):")
        for kind in AgentKind.allCases { print("  \(kind.rawValue): \(List.agentDescriptions[kind] ?? "")") }
    }
}
