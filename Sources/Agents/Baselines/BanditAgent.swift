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
            try f.write("counts", counts, shape: [actionCount])
            try f.write("means", means, shape: [actionCount])
        }
    }
}
