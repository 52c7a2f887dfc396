import Foundation

/// Every agent of the package, in one list: its name (the CLI's `--agent` and a policy file's `agent` attribute),
/// what it is, whether it learns and whether its training resumes exactly. `PolicyFile.load` switches over it
/// exhaustively, so an agent added here cannot be left unloadable (a test saves and loads each one).
public enum AgentKind: String, CaseIterable, Codable, Sendable {
    case dqn, rdqn, ppo, cem, random, fixed, heuristic, bandit

    /// One line on what the agent does (`gym-runner list`).
    public var summary: String {
        switch self {
        case .dqn:
            return
                "Double DQN with n-step targets: MLP Q-network on features + instrument, replay, target network, Huber loss, Adam, ε-greedy"
        case .rdqn:
            return
                "recurrent DQN: a GRU over the episode's observations and a Q head, trained through time on replayed stretches from their stored recurrent state"
        case .ppo:
            return
                "PPO: clipped surrogate, GAE, value head and entropy bonus on one MLP actor-critic, minibatch epochs per rollout"
        case .cem: return "cross-entropy method over a linear argmax policy on standardised observations"
        case .random: return "uniformly random actions"
        case .fixed: return "one setting throughout (--fixed-action; default the experimenter's default)"
        case .heuristic: return "a microscopist's rule: dose from the damage so far, frame rate from the step size"
        case .bandit: return "UCB1 over the discrete grid of settings"
        }
    }

    /// Agents that learn from training and whose best validated policy is kept.
    public var learns: Bool { self == .dqn || self == .rdqn || self == .ppo || self == .cem }
    /// Agents whose full training state is checkpointed, so that --resume continues them exactly.
    public var resumable: Bool { self == .dqn || self == .rdqn || self == .ppo }

    /// "dqn, rdqn, ppo, cem, random, fixed, heuristic or bandit".
    public static var namesList: String {
        let names = allCases.map(\.rawValue)
        return names.dropLast().joined(separator: ", ") + " or " + names.last!
    }
}
