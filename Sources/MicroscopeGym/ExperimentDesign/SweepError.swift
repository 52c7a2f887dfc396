import Foundation

/// Errors of sweeps and sweep files; each names what is wrong.
public enum SweepError: Error, CustomStringConvertible, Equatable {
    /// A dose rate or frame rate of the grid lies outside the environment's range.
    case settingOutsideRange(quantity: String, value: Double, range: [Double])
    /// `merge` got no parts.
    case noParts
    /// Parts of one sweep disagree on environment, grid, episodes or seed.
    case mismatchedParts
    /// The same setting (grid index) is in two parts.
    case overlappingParts(setting: Int)
    /// The file is not a sweep written by `SweepTable.write`.
    case notASweepFile(String)
    /// A comparison needs a complete sweep (or as many policy returns as sweep episodes); says what is missing.
    case incompleteSweep(String)

    public var description: String {
        switch self {
        case .settingOutsideRange(let quantity, let value, let range):
            "\(quantity) \(value) outside the environment's range \(range)"
        case .noParts: "nothing to merge"
        case .mismatchedParts: "sweep parts differ in environment, grid, episodes or seed"
        case .overlappingParts(let setting): "setting \(setting) appears in two parts"
        case .notASweepFile(let path): "\(path): not a MicroscopeGym sweep file"
        case .incompleteSweep(let what): what
        }
    }
}
