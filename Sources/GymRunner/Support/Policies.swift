import ArgumentParser
import Foundation
import LeonardoSim
import MicroscopeGym
import Agents

/// Loads any policy file written by an agent's `save`.
func loadPolicy(_ path: String, cell: LiquidCell) throws -> any Agent {
    let f: HDF5File
    do { f = try HDF5File.open(path) } catch { throw UserError("\(path): cannot open the policy file (\(error))") }
    let kind = try f.stringAttribute("agent")
    let action = try f.doubleAttribute("action")
    f.close()
    do {
        switch kind {
        case "dqn": return try DQNAgent.load(path)
        case "cem": return try CEMAgent.load(path)
        case "fixed":
            guard let a = action, cell.actionSpace.contains(Int(a)) else {
                throw UserError("\(path): fixed policy without a valid action")
            }
            return FixedAgent(action: Int(a))
        case "heuristic": return HeuristicAgent(doseRates: cell.spec.doseRates, frameRates: cell.spec.frameRates)
        case "random": return RandomAgent(actionCount: cell.actionSpace.n, seed: 0)
        default: throw UserError("\(path): not a MicroscopeGym policy file (attribute 'agent' is \(kind ?? "missing"))")
        }
    } catch let e as AgentError { throw UserError(e.description) }
}

/// "settings used: 10 e⁻/Å²/s @ 12.5 fps 71%, …" — the settings a policy chose, most frequent first.
func actionUsage(_ counts: [Int], cell: LiquidCell, top: Int = 5) -> String {
    let total = max(counts.reduce(0, +), 1)
    let used = counts.enumerated().filter { $0.element > 0 }.sorted { $0.element > $1.element }
    let parts = used.prefix(top).map { a, n -> String in
        let (d, f) = cell.setting(for: a)
        return String(format: "%g e⁻/Å²/s @ %g fps %.0f%%", d, f, 100 * Double(n) / Double(total))
    }
    return "settings used: " + parts.joined(separator: ", ") + (used.count > top ? ", … (\(used.count) settings)" : "")
}
