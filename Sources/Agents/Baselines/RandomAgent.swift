import Foundation
import LeonardoSim
import MicroscopeGym

/// Uniformly random actions.
public struct RandomAgent: Agent {
    public let name = "random"
    public let actionCount: Int
    var rng: Xoshiro256StarStar
    public init(actionCount: Int, seed: UInt64) {
        self.actionCount = actionCount
        rng = Xoshiro256StarStar(seed: seed)
    }
    public mutating func act(_ observation: [Float], explore: Bool) -> Int { rng.uniformInt(actionCount) }
    public func save(to path: String) throws {
        try PolicyFile.write(path, agent: name) { f in
            try f.setAttribute("action_count", actionCount)
        }
    }
}
