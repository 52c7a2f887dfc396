import Foundation
import LeonardoSim
import MicroscopeGym

/// One environment transition as agents see it (vector observations, discrete actions).
public struct Transition {
    public var observation: [Float]
    public var action: Int
    public var reward: Double
    public var nextObservation: [Float]
    /// True when the episode terminated (no bootstrapping); truncation is not termination.
    public var terminated: Bool
    public var done: Bool
    public init(observation: [Float], action: Int, reward: Double, nextObservation: [Float], terminated: Bool, done: Bool) {
        self.observation = observation; self.action = action; self.reward = reward
        self.nextObservation = nextObservation; self.terminated = terminated; self.done = done
    }
}

/// A policy that acts on vector observations with a `Discrete(actionCount)` action space — any environment whose
/// spaces fit (e.g. a `FlattenObservation` of the liquid cell). Learning agents learn from `observe`.
public protocol Agent {
    var name: String { get }
    /// The action for `observation`; `explore` enables the agent's exploration (ε-greedy, sampling, …).
    mutating func act(_ observation: [Float], explore: Bool) -> Int
    /// Takes one transition (storing it and learning when due); returns training metrics (e.g. loss), if any.
    mutating func observe(_ transition: Transition) -> [String: Double]
    /// Called at the end of each training episode with its return (episodic learners update here).
    mutating func endEpisode(return: Double)
    /// Writes the agent (weights, hyper-parameters, training step) atomically to an HDF5 file.
    func save(to path: String) throws
}

public extension Agent {
    mutating func observe(_ transition: Transition) -> [String: Double] { [:] }
    mutating func endEpisode(return: Double) {}
}

/// Errors of agents and policy files.
public enum AgentError: Error, CustomStringConvertible {
    case incompatible(String)
    case badPolicyFile(String)
    public var description: String {
        switch self {
        case .incompatible(let s): return s
        case .badPolicyFile(let s): return s
        }
    }
}

/// Uniformly random actions.
public struct RandomAgent: Agent {
    public let name = "random"
    public let actionCount: Int
    var rng: Xoshiro256StarStar
    public init(actionCount: Int, seed: UInt64) { self.actionCount = actionCount; rng = Xoshiro256StarStar(seed: seed) }
    public mutating func act(_ observation: [Float], explore: Bool) -> Int { rng.uniformInt(actionCount) }
    public func save(to path: String) throws {
        try PolicyFile.write(path, agent: name) { f in
            try f.setAttribute("action_count", actionCount)
        }
    }
}

/// One fixed action: the experimenter's default setting.
public struct FixedAgent: Agent {
    public let name = "fixed"
    public let action: Int
    public init(action: Int) { self.action = action }
    public mutating func act(_ observation: [Float], explore: Bool) -> Int { action }
    public func save(to path: String) throws {
        try PolicyFile.write(path, agent: name) { f in
            try f.setAttribute("action", action)
        }
    }
}

/// A readable rule a microscopist would use on the liquid cell (observation = `FlattenObservation` with keys
/// ["features", "instrument"]): choose the dose from the damage so far (high while the specimen is fresh,
/// stepping down as damage grows), and the frame rate from the motion — slow down when the particle is lost
/// in many frames (too few electrons per frame), speed up when it moves fast (large steps, escaping).
public struct HeuristicAgent: Agent {
    public let name = "heuristic"
    public let doseRates: [Double], frameRates: [Double]
    /// Damage thresholds → dose rate: below damageSteps[i] use doseSchedule[i].
    public var damageSteps: [Float] = [0.3, 0.6, 0.85]
    public var doseSchedule: [Double] = [10, 5, 2]
    public var lateDose: Double = 1
    /// Minimum tracked fraction before the frame rate is lowered.
    public var minTracked: Float = 0.85
    /// log₁₀ mean step (nm) above which the particle counts as escaping (faster frames).
    public var fastStep: Float = 0.9

    public init(doseRates: [Double], frameRates: [Double]) { self.doseRates = doseRates; self.frameRates = frameRates }

    func nearest(_ v: Double, in grid: [Double]) -> Int {
        grid.indices.min { abs(log(grid[$0] / v)) < abs(log(grid[$1] / v)) }!
    }

    public mutating func act(_ o: [Float], explore: Bool) -> Int {
        let nf = LiquidCell.featureNames.count
        let damage = o[nf + 3], tracked = o[11], logStep = o[0], currentFrame = o[nf + 1]
        var dose = lateDose
        for (i, t) in damageSteps.enumerated() where damage < t { dose = doseSchedule[i]; break }
        // Frame rate: the middle of the grid by default; slower if the particle is lost, faster if it escapes.
        var f = frameRates.count / 2
        if tracked < minTracked { f = max(0, Int((currentFrame * Float(frameRates.count - 1)).rounded()) - 1) }
        else if logStep > fastStep { f = frameRates.count - 1 }
        return nearest(dose, in: doseRates) * frameRates.count + f
    }
    public func save(to path: String) throws {
        try PolicyFile.write(path, agent: name) { _ in }
    }
}

/// UCB1 (Auer, Cesa-Bianchi & Fischer 2002) over the discrete actions, treating each step's reward as a pull:
/// play every arm once, then argmax mean + c·√(2 ln t / n).
public struct BanditAgent: Agent {
    public let name = "bandit"
    public let actionCount: Int
    public var exploration: Double
    public private(set) var counts: [Double]
    public private(set) var means: [Double]
    public init(actionCount: Int, exploration: Double = 1) {
        self.actionCount = actionCount; self.exploration = exploration
        counts = [Double](repeating: 0, count: actionCount); means = counts
    }
    public mutating func act(_ observation: [Float], explore: Bool) -> Int {
        if explore, let untried = counts.firstIndex(of: 0) { return untried }
        if !explore { return means.indices.max { means[$0] < means[$1] }! }
        let t = counts.reduce(0, +)
        return (0..<actionCount).max { a, b in
            means[a] + exploration * (2 * log(t) / counts[a]).squareRoot() < means[b] + exploration * (2 * log(t) / counts[b]).squareRoot()
        }!
    }
    public mutating func observe(_ t: Transition) -> [String: Double] {
        counts[t.action] += 1
        means[t.action] += (t.reward - means[t.action]) / counts[t.action]
        return [:]
    }
    public func save(to path: String) throws {
        try PolicyFile.write(path, agent: name) { f in
            try f.write("counts", counts, shape: [actionCount]); try f.write("means", means, shape: [actionCount])
        }
    }
}

/// The policy file format: HDF5 with attributes `format`, `agent` and the agent's own datasets/attributes.
public enum PolicyFile {
    public static let format = "microscopegym.policy/1"

    /// Writes a policy file atomically (temporary file, then rename): the `format` and `agent` attributes, then
    /// the agent's own contents.
    public static func write(_ path: String, agent: String, _ body: (HDF5File) throws -> Void) throws {
        try writeHDF5Atomically(path) { f in
            try f.setAttribute("format", format); try f.setAttribute("agent", agent)
            try body(f)
        }
    }
}
