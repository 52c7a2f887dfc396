import ArgumentParser
import Foundation
import LeonardoSim
import MicroscopeGym

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the registered environments and the agents.")
    static let agentDescriptions: [AgentKind: String] = [
        .dqn:
            "Double DQN with n-step targets: MLP Q-network on features + instrument, replay, target network, Huber loss, Adam, ε-greedy",
        .ppo:
            "PPO: clipped surrogate, GAE, value head and entropy bonus on one MLP actor-critic, minibatch epochs per rollout",
        .cem: "cross-entropy method over a linear argmax policy on standardised observations",
        .random: "uniformly random actions",
        .fixed: "one setting throughout (--fixed-action; default the experimenter's default)",
        .heuristic: "a microscopist's rule: dose from the damage so far, frame rate from the step size",
        .bandit: "UCB1 over the discrete grid of settings"
    ]
    func run() throws {
        print("environments (\(EnvironmentRegistry.directory)):")
        for id in try EnvironmentRegistry.checkedIDs() {
            let line: String
            if let spec = try? EnvironmentRegistry.spec(id: id) {
                line = spec.description
            } else {
                line = "(spec does not load: run 'gym-runner check --env \(id)')"
            }
            print("  \(id): \(line)")
        }
        print("agents (gym-runner --agent NAME):")
        for kind in AgentKind.allCases { print("  \(kind.rawValue): \(List.agentDescriptions[kind] ?? "")") }
    }
}
