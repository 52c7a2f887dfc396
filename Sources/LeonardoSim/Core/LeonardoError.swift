import Foundation

/// Typed errors of LeonardoSim; each message says what is wrong and what to fix.
public enum LeonardoError: Error, CustomStringConvertible, Equatable {
    case invalidConfig(field: String, reason: String)
    case fileNotFound(String)
    case hdf5(String)
    case missingDataset(file: String, name: String)
    case shapeMismatch(file: String, name: String, expected: [Int], found: [Int])
    case wrongType(file: String, name: String, expected: String)
    case nonFinite(file: String, name: String)
    case invalidData(String)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .invalidConfig(let f, let r): return "invalid model config: \(f) \(r)"
        case .fileNotFound(let p): return "file not found: \(p)"
        case .hdf5(let m): return m
        case .missingDataset(let f, let n): return "\(f): missing dataset '\(n)'"
        case .shapeMismatch(let f, let n, let e, let s):
            return "\(f): dataset '\(n)' has shape \(s), expected \(e)"
        case .wrongType(let f, let n, let e): return "\(f): dataset '\(n)' is not \(e)"
        case .nonFinite(let f, let n): return "\(f): dataset '\(n)' contains NaN or infinite values"
        case .invalidData(let m): return m
        case .invalidArgument(let m): return m
        }
    }
}
