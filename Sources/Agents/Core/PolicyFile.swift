import Foundation
import LeonardoSim
import MicroscopeGym

/// The policy file format: HDF5 with attributes `format`, `agent` and the agent's own datasets/attributes.
public enum PolicyFile {
    public static let format = "microscopegym.policy/1"

    /// Writes a policy file atomically (temporary file, then rename): the `format` and `agent` attributes, then
    /// the agent's own contents.
    public static func write(_ path: String, agent: String, _ body: (HDF5File) throws -> Void) throws {
        try writeHDF5Atomically(path) { f in
            try f.setAttribute("format", format)
            try f.setAttribute("agent", agent)
            try body(f)
        }
    }

    /// Loads any policy file written by an agent's `save`, for `environment` (whose spaces it must fit).
    public static func load(_ path: String, environment: LiquidCell) throws -> any Agent {
        let f: HDF5File
        do { f = try HDF5File.open(path) } catch { throw AgentError.badPolicyFile("\(path): cannot open (\(error))") }
        let kind = try f.stringAttribute("agent")
        let action = try f.doubleAttribute("action")
        f.close()
        switch kind {
        case "dqn": return try DQNAgent.load(path)
        case "cem": return try CEMAgent.load(path)
        case "fixed":
            guard let a = action, a.isFinite, environment.actionSpace.contains(Int(a)) else {
                throw AgentError.badPolicyFile("\(path): fixed policy without an action of \(environment.actionSpace)")
            }
            return FixedAgent(action: Int(a))
        case "heuristic":
            return HeuristicAgent(doseRates: environment.spec.doseRates, frameRates: environment.spec.frameRates)
        case "random": return RandomAgent(actionCount: environment.actionSpace.n, seed: 0)
        default:
            throw AgentError.badPolicyFile(
                "\(path): not a MicroscopeGym policy file (attribute 'agent' is \(kind ?? "missing"))")
        }
    }
}
