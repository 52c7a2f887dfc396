// An agent written outside MicroscopeGym, against its public `Environment` protocol only.
//
// DamageAwareBandit: an ε-greedy bandit over the discrete (dose rate, frame rate) settings whose value estimates
// are the mean reward per step of each setting, and which never picks a setting that would raise the damage shown
// in the observation's `instrument` entry above `damageCeiling`. It runs episodes of a registered environment and
// compares its return with a fixed setting.
//
//     swift run -c release CustomAgent [--env LiquidCell-v0] [--episodes 5] [--max-steps 0] [--seed 1]
import Foundation
import LeonardoSim
import MicroscopeGym

struct DamageAwareBandit {
    // Hyper-parameters.
    var epsilon = 0.2
    var damageCeiling: Float = 0.6
    // State.
    var totals: [Double]
    var counts: [Double]
    var rng: Xoshiro256StarStar

    init(actions: Int, seed: UInt64) {
        totals = [Double](repeating: 0, count: actions)
        counts = totals
        rng = Xoshiro256StarStar(seed: seed)
    }

    /// Picks an action: the lowest one (lowest dose rate) once damage passes the ceiling, else ε-greedy.
    mutating func act(_ observation: [String: [Float]]) -> Int {
        let damage = observation["instrument"]?[3] ?? 0
        if damage > damageCeiling { return 0 }
        if rng.uniform() < epsilon { return rng.uniformInt(totals.count) }
        let means = (0..<totals.count).map { counts[$0] > 0 ? totals[$0] / counts[$0] : .infinity }
        return means.indices.max { means[$0] < means[$1] }!
    }

    mutating func learn(action: Int, reward: Double) {
        totals[action] += reward
        counts[action] += 1
    }
}

/// Runs one episode of any environment with dictionary observations and discrete actions; returns the return.
func runEpisode<E: Environment>(
    _ env: inout E, seed: UInt64, policy: (E.Observation) -> Int, learn: (Int, Double) -> Void
)
    throws -> (total: Double, steps: Int) where E.Action == Int
{
    var (observation, _) = try env.reset(seed: seed)
    var total = 0.0
    var steps = 0
    while true {
        let action = policy(observation)
        let step = try env.step(action)
        learn(action, step.reward)
        total += step.reward
        steps += 1
        observation = step.observation
        if step.done { return (total, steps) }
    }
}

func option(_ name: String, _ fallback: String) -> String {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return fallback }
    return args[i + 1]
}

do {
    let id = option("--env", "LiquidCell-v0")
    guard let episodes = Int(option("--episodes", "5")), episodes >= 1,
        let maxSteps = Int(option("--max-steps", "0")), maxSteps >= 0,
        let seed = UInt64(option("--seed", "1"))
    else {
        FileHandle.standardError.write(
            "error: --episodes ≥ 1, --max-steps ≥ 0 and --seed must be integers\n".data(using: .utf8)!)
        exit(2)
    }
    let cell = try makeEnvironment(id: id)
    var agent = DamageAwareBandit(actions: cell.actionSpace.n, seed: seed)
    // The fixed comparison: 10 e⁻/Å²/s at 12.5 frames/s, a good setting of LiquidCell-v0 (docs/results.md).
    let fixed = (0..<cell.actionSpace.n).first { cell.setting(for: $0) == (10, 12.5) } ?? 0
    var agentReturns: [Double] = []
    var fixedReturns: [Double] = []
    for episode in 0..<episodes {
        let episodeSeed = seed &+ UInt64(episode)
        if maxSteps > 0 {
            var env = TimeLimit(cell, maxSteps: maxSteps)
            let a = try runEpisode(
                &env, seed: episodeSeed, policy: { agent.act($0) }, learn: { agent.learn(action: $0, reward: $1) })
            let f = try runEpisode(&env, seed: episodeSeed, policy: { _ in fixed }, learn: { _, _ in })
            agentReturns.append(a.total)
            fixedReturns.append(f.total)
        } else {
            var env = cell
            let a = try runEpisode(
                &env, seed: episodeSeed, policy: { agent.act($0) }, learn: { agent.learn(action: $0, reward: $1) })
            let f = try runEpisode(&env, seed: episodeSeed, policy: { _ in fixed }, learn: { _, _ in })
            agentReturns.append(a.total)
            fixedReturns.append(f.total)
        }
        print(
            String(
                format: "episode %d: DamageAwareBandit %.2f, fixed 10 e/Å²/s @ 12.5 fps %.2f", episode + 1,
                agentReturns.last!, fixedReturns.last!))
    }
    let mean = { (x: [Double]) in x.reduce(0, +) / Double(x.count) }
    print(
        String(
            format: "%@ over %d episodes: DamageAwareBandit %.2f, fixed %.2f", id, episodes, mean(agentReturns),
            mean(fixedReturns)))
} catch {
    FileHandle.standardError.write("error: \(error)\n".data(using: .utf8)!)
    exit(1)
}
