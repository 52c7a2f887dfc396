import Foundation
import LeonardoSim
import MicroscopeGym

/// UCB1 (Auer, Cesa-Bianchi & Fischer 2002) over the discrete actions, treating each step's reward as a pull:
/// play every arm once, then argmax mean + c·√(2 ln t / n).
public struct BanditAgent: Agent {
    public let name = "bandit"
    public let actionCount: Int
    public var exploration: Double
    public private(set) var counts: [Double]
    public private(set) var means: [Double]
    public init(actionCount: Int, exploration: Double = 1) {
        self.actionCount = actionCount
        self.exploration = exploration
        counts = [Double](repeating: 0, count: actionCount)
        means = counts
    }
    public mutating func act(_ observation: [Float], explore: Bool) -> Int {
        if explore, let untried = counts.firstIndex(of: 0) { return untried }
        if !explore { return means.indices.max { means[$0] < means[$1] }! }
        let t = counts.reduce(0, +)
        return (0..<actionCount).max { a, b in
            means[a] + exploration * (2 * log(t) / counts[a]).squareRoot() < means[b] + exploration
                * (2 * log(t) / counts[b]).squareRoot()
        }!
    }
    public mutating func observe(_ t: Transition) -> [String: Double] {
        counts[t.action] += 1
        means[t.action] += (t.reward - means[t.action]) / counts[t.action]
        return [:]
    }
    public func save(to path: String) throws {
        try PolicyFile.write(path, agent: name) { f in
            try f.setAttribute("exploration", exploration)
            try f.write("counts", counts, shape: [actionCount])
            try f.write("means", means, shape: [actionCount])
        }
    }

    /// Reads a policy written by `save`, for an environment of `actionCount` actions; refuses other sizes and
    /// damaged values.
    public static func load(_ path: String, actionCount: Int) throws -> BanditAgent {
        let f: HDF5File
        do { f = try HDF5File.open(path) } catch { throw AgentError.badPolicyFile("\(path): cannot open (\(error))") }
        defer { f.close() }
        let counts: [Double]
        let means: [Double]
        do {
            counts = try f.readDouble("counts").data
            means = try f.readDouble("means").data
        } catch { throw AgentError.badPolicyFile("\(path): bandit policy without counts and means (\(error))") }
        guard counts.count == actionCount, means.count == actionCount else {
            throw AgentError.badPolicyFile(
                "\(path): the bandit policy has \(counts.count) arms; the environment has \(actionCount) actions")
        }
        guard counts.allSatisfy({ $0.isFinite && $0 >= 0 }), means.allSatisfy(\.isFinite) else {
            throw AgentError.badPolicyFile("\(path): the bandit policy's counts or means are damaged")
        }
        let exploration = (try? f.doubleAttribute("exploration")).flatMap { $0 } ?? 1
        guard exploration.isFinite, exploration >= 0 else {
            throw AgentError.badPolicyFile("\(path): the bandit policy's exploration is \(exploration)")
        }
        var agent = BanditAgent(actionCount: actionCount, exploration: exploration)
        agent.counts = counts
        agent.means = means
        return agent
    }
}
