import Foundation
import LeonardoSim

/// Bit-level equality of observations (NaN equals NaN with the same bits), for determinism checks.
public func bitIdentical(_ a: Any, _ b: Any) -> Bool {
    switch (a, b) {
    case let (x as [Float], y as [Float]): return x.map(\.bitPattern) == y.map(\.bitPattern)
    case let (x as [String: [Float]], y as [String: [Float]]):
        return x.keys.sorted() == y.keys.sorted() && x.keys.allSatisfy { bitIdentical(x[$0]!, y[$0]!) }
    case let (x as Int, y as Int): return x == y
    case let (x as [Int], y as [Int]): return x == y
    case let (x as Double, y as Double): return x.bitPattern == y.bitPattern
    case let (x as Float, y as Float): return x.bitPattern == y.bitPattern
    default: return false
    }
}

/// An action that lies outside `space`, if one can be made (for testing that steps reject it).
func invalidAction(for space: Any) -> Any? {
    switch space {
    case let s as Discrete: return s.n
    case let s as Box: return s.high.map { $0.isFinite ? $0 + 1 + abs($0) : Float.nan }
    case let s as MultiDiscrete: return s.nvec
    default: return nil
    }
}

/// Checks an environment against the API contract, in the spirit of Gymnasium's `check_env`:
/// spaces sample members of themselves; reset's observation lies in the observation space; the same seed and
/// the same actions give bit-identical observations and rewards; rewards and infos are finite; terminated and
/// truncated episodes refuse further steps until reset; actions outside the action space throw;
/// `reset(seed: nil)` continues. Returns the list of checks passed; throws `EnvironmentError.checkFailed`.
@discardableResult
public func checkEnvironment<E: Environment>(_ environment: E, seed: UInt64 = 12345, steps: Int = 8) throws -> [String]
{
    var env = environment
    var passed: [String] = []
    func require(_ ok: Bool, _ what: String) throws {
        if !ok { throw EnvironmentError.checkFailed(what) }
    }
    var rng = Xoshiro256StarStar(seed: seed ^ 0xC0FFEE)
    for _ in 0..<5 {
        try require(
            env.actionSpace.contains(env.actionSpace.sample(using: &rng)), "actionSpace.sample() is not in actionSpace")
        try require(
            env.observationSpace.contains(env.observationSpace.sample(using: &rng)),
            "observationSpace.sample() is not in observationSpace")
    }
    passed.append("spaces sample their own members")

    let (o1, info1) = try env.reset(seed: seed, options: [:])
    try require(env.observationSpace.contains(o1), "reset observation is outside observationSpace")
    try require(info1.values.allSatisfy { $0.isFinite }, "reset info has non-finite values")
    let (o2, _) = try env.reset(seed: seed, options: [:])
    try require(bitIdentical(o1, o2), "reset(seed:) twice with the same seed gave different observations")
    passed.append("reset observation in space; same seed, same first observation")

    let actions = (0..<steps).map { _ in env.actionSpace.sample(using: &rng) }
    func rollout(_ env: inout E) throws -> (obs: [E.Observation], rewards: [Double], ended: Bool) {
        var obs: [E.Observation] = []
        var rewards: [Double] = []
        _ = try env.reset(seed: seed, options: [:])
        for a in actions {
            let s = try env.step(a)
            try require(env.observationSpace.contains(s.observation), "step observation is outside observationSpace")
            try require(s.reward.isFinite, "reward \(s.reward) is not finite")
            try require(s.info.values.allSatisfy { $0.isFinite }, "step info has non-finite values")
            obs.append(s.observation)
            rewards.append(s.reward)
            if s.done { return (obs, rewards, true) }
        }
        return (obs, rewards, false)
    }
    let r1 = try rollout(&env)
    let r2 = try rollout(&env)
    let total = r1.rewards.reduce(0, +)
    try require(total.isFinite, "the return of the checked steps, \(total), is not finite")
    try require(
        r1.rewards.map(\.bitPattern) == r2.rewards.map(\.bitPattern), "same seed and actions gave different rewards")
    try require(
        zip(r1.obs, r2.obs).allSatisfy { bitIdentical($0, $1) }, "same seed and actions gave different observations")
    passed.append("same seed and actions: bit-identical observations and rewards; finite rewards, return and infos")

    // Run an episode to its end (bounded), then a further step must throw.
    _ = try env.reset(seed: seed &+ 1, options: [:])
    var ended = false
    for _ in 0..<10_000 {
        if try env.step(env.actionSpace.sample(using: &rng)).done {
            ended = true
            break
        }
    }
    if ended {
        do {
            _ = try env.step(env.actionSpace.sample(using: &rng))
            try require(false, "step after the episode ended did not throw")
        } catch EnvironmentError.stepAfterEpisodeEnd {
            passed.append("step after the end of an episode throws")
        }
    } else {
        passed.append("(no episode ended within 10,000 steps; end-of-episode contract not exercised)")
    }

    _ = try env.reset(seed: seed, options: [:])
    if let bad = invalidAction(for: env.actionSpace) as? E.Action {
        do {
            _ = try env.step(bad)
            try require(false, "an action outside actionSpace was accepted")
        } catch let e as EnvironmentError {
            if case .actionOutsideSpace = e { passed.append("actions outside the action space throw") } else { throw e }
        }
    }
    let (o3, _) = try env.reset(seed: nil, options: [:])
    try require(env.observationSpace.contains(o3), "reset(seed: nil) observation is outside observationSpace")
    passed.append("reset(seed: nil) continues the generator")
    return passed
}
