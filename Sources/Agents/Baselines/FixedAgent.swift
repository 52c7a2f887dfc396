import Foundation
import LeonardoSim
import MicroscopeGym

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
