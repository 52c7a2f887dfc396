import ArgumentParser
import Foundation
import LeonardoSim
import MicroscopeGym

struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Join the shards of a sweep into one table.")
    @Argument(help: "Sweep part files (HDF5).") var parts: [String]
    @Option(help: "Output HDF5 file (.csv and .svg are written next to it).") var out: String
    @OptionGroup var overwriting: OverwriteOption
    @Flag(help: "Write the merged table even when settings are missing (otherwise an error).") var allowIncomplete =
        false
    func validate() throws {
        if parts.isEmpty { throw ValidationError("give the sweep part files to merge") }
        try checkSweepPath(out, flag: "--out")
    }
    func run() throws {
        try claimOutput(out, inputs: parts, overwrite: overwriting.overwrite)
        let merged = try SweepTable.merge(try parts.map { try SweepTable.read($0) })
        if !merged.isComplete {
            let total = merged.doseRates.count * merged.frameRates.count
            let message = "\(merged.results.count) of \(total) settings present (missing or incomplete shards?)"
            guard allowIncomplete else { throw UserError(message + "; pass --allow-incomplete to write them anyway") }
            print("warning: " + message)
        }
        try writeSweep(merged, to: out)
        printSweep(merged)
        print("wrote \(out) (+ .csv, .svg)")
    }
}
