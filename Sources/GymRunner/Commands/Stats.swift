import ArgumentParser
import Foundation
import LeonardoSim

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Summary statistics of trajectory files side by side (the LPTEM-like calibration table).",
        discussion: """
            For each file: pooled step-size mean, median, std, skewness, kurtosis, fraction of steps longer than 3× the \
            median, mean VACF at lags 1–5 and the exponent of the time-averaged MSD (lags 1–10), and the step profile's coefficient of variation over frames (≈ 1/√N for N walks \
            that are stationary in time; large when large steps gather at the same frames). With --dose LOW:HIGH \
            only trajectories whose 'dose' lies in that range are used. Prints a Markdown table.
            """)

    @Argument(help: "Trajectory files (HDF5).") var files: [String]
    @Option(help: "Keep trajectories with dose in LOW:HIGH (e⁻/Å²/s).") var dose: String?
    @Option(help: "Cut trajectories into windows of this many frames first.") var window: Int?
    @Flag(
        help:
            "Normalise every trajectory as the paper does (per-axis minimum, largest range) before the statistics, so files in nm and LEONARDO's normalised output are weighted alike."
    ) var normalize = false

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one trajectory file") }
        if let dose { _ = try parseRange(dose, flag: "--dose") }
        if let window { try requireRange(window, 12...100_000, "--window") }
    }

    func run() throws {
        var summaries: [MotionSummary] = []
        for path in files {
            var set = try TrajectorySet.read(path)
            if let dose {
                let range = try parseRange(dose, flag: "--dose")
                guard let d = set.dose else {
                    throw UserError("\(path): --dose given but the file has no 'dose' dataset")
                }
                let keep = (0..<set.count).filter { range.contains(Double(d[$0])) }
                guard !keep.isEmpty else { throw UserError("\(path): no trajectory has a dose in \(dose)") }
                set = set.subset(keep)
            }
            if let window { set = try set.segmented(window: window) }
            guard set.length >= 12 else {
                throw UserError("\(path): trajectories need at least 12 frames for these statistics")
            }
            if normalize { set = set.paperNormalized }
            summaries.append(MotionSummary(set))
        }
        print("| statistic | " + files.map { ($0 as NSString).lastPathComponent }.joined(separator: " | ") + " |")
        print("|---|" + String(repeating: "---:|", count: files.count))
        for (row, (name, _)) in summaries[0].rows.enumerated() {
            print(
                "| \(name) | " + summaries.map { String(format: "%.3f", $0.rows[row].1) }.joined(separator: " | ")
                    + " |")
        }
    }
}
