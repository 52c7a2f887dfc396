import Foundation
import LeonardoSim
import MicroscopeGym

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
