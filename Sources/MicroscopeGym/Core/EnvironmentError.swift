import Foundation
import LeonardoSim

/// Errors of the environment API; the message says what to fix.
public enum EnvironmentError: Error, CustomStringConvertible, Equatable {
    case actionOutsideSpace(String)
    /// A `reset` option that is unknown, not finite or outside its range.
    case invalidResetOption(String)
    case stepAfterEpisodeEnd
    case stepBeforeReset
    case invalidSpec(file: String, field: String, problem: String)
    case unknownEnvironment(String, known: [String])
    case incompatibleSpaces(String)
    case checkFailed(String)
    /// An argument of an environment or wrapper that cannot be served (e.g. belief features without a fill prior).
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .actionOutsideSpace(let what): return "action outside the action space: \(what)"
        case .invalidResetOption(let what): return "invalid reset option: \(what)"
        case .stepAfterEpisodeEnd: return "step() called after the episode ended: call reset() first"
        case .stepBeforeReset: return "step() called before reset(): call reset(seed:) first"
        case .invalidSpec(let file, let field, let problem):
            return field == "-" ? "\(file): \(problem)" : "\(file): field '\(field)' \(problem)"
        case .unknownEnvironment(let id, let known):
            return
                "unknown environment '\(id)' (registered: \(known.joined(separator: ", ")); a spec of your own is made from its file)"
        case .incompatibleSpaces(let what): return "incompatible spaces: \(what)"
        case .checkFailed(let what): return "environment check failed: \(what)"
        case .invalidArgument(let what): return what
        }
    }
}
