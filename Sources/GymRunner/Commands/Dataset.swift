import ArgumentParser
import Foundation
import LeonardoSim

extension DatasetKind: ExpressibleByArgument {}

struct Dataset: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make",
        abstract: "Generate a labelled trajectory data set (classical processes or the LPTEM-like dose model).",
        discussion: """
            Writes the project's HDF5 layout: 'trajectories' (N×T×2 float32), 'labels' (N, int64; names in the \
            attribute 'label_names'), 'alpha' (N; NaN for LPTEM-like), 'dose' (N, e⁻/Å²/s; LPTEM-like and mixed \
            sets, NaN for classical), attributes 'generator' and 'parameters' (JSON). Positions are raw: nm for \
            LPTEM-like trajectories, unit steps for classical ones; training normalises per trajectory.
            With --split TRAIN:VAL:TEST, --out is a folder that receives train.h5, validation.h5 and test.h5 \
            made from disjoint generator streams (seeds S, S+1, S+2).
            """)

    @Option(
        help: "What to generate: lptem, bm, fbm, ctrw, attm, sbm, lw or mixed (all seven classes, balanced at random).")
    var kind: DatasetKind
    @Option(help: "Number of trajectories, 1 … 10,000,000 (ignored with --split).") var count: Int = 1000
    @Option(help: "Frames per trajectory, 3 … 100,000.") var length: Int = 200
    @Option(help: "Seed; the same seed gives a bit-identical file.") var seed: UInt64 = 0
    @Option(help: "Dose-rate range LOW:HIGH in e⁻/Å²/s for LPTEM-like trajectories (log-uniform).") var doseRange:
        String = "1:100"
    @Option(help: "JSON file overriding LPTEM-like model parameters (fields of LPTEMModel).") var modelFile: String?
    @Option(help: "Write a train/validation/test split TRAIN:VAL:TEST into the folder --out.") var split: String?
    @Option(help: "Output HDF5 file (or folder with --split).") var out: String
    @OptionGroup var overwriting: OverwriteOption

    func validate() throws {
        try requireRange(count, 1...10_000_000, "--count")
        try requireRange(length, 3...100_000, "--length")
        _ = try parseRange(doseRange, flag: "--dose-range")
        let total = try split.map { try parseSplit($0).reduce(0, +) } ?? count
        try requireRange(total, 1...10_000_000, "the number of trajectories")
        // Float32 storage of N×T×2 plus the generator's double-precision copy of each.
        try requireMemory(
            Double(total) * Double(length) * 2 * (4 + 8) * 1.5, "\(total) trajectories of \(length) frames")
    }

    func parseSplit(_ s: String) throws -> [Int] {
        let parts = s.split(separator: ":").map { Int($0) }
        guard parts.count == 3, parts.allSatisfy({ ($0 ?? 0) >= 1 }) else {
            throw ValidationError("--split must be TRAIN:VAL:TEST with three positive counts, got '\(s)'")
        }
        return parts.map { $0! }
    }

    func run() throws {
        let doses = try parseRange(doseRange, flag: "--dose-range")
        var model = LPTEMModel()
        if let modelFile {
            guard let data = FileManager.default.contents(atPath: modelFile) else {
                throw UserError("\(modelFile): cannot read the file")
            }
            do { model = try JSONDecoder().decode(LPTEMModel.self, from: data) } catch let error as LeonardoError {
                throw UserError("\(modelFile): \(error)")
            } catch {
                throw UserError("\(modelFile): not a JSON object of LPTEM model fields (\(error.localizedDescription))")
            }
            do { try model.validate() } catch { throw UserError("\(modelFile): \(error)") }
        }
        var jobs: [(name: String, count: Int, seed: UInt64, path: String)] = []
        if let split {
            let sizes = try parseSplit(split)
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            for (i, name) in ["train", "validation", "test"].enumerated() {
                jobs.append((name, sizes[i], seed &+ UInt64(i), (out as NSString).appendingPathComponent("\(name).h5")))
            }
        } else {
            jobs.append(("\(kind.rawValue)", count, seed, out))
        }
        for job in jobs {
            try claimOutput(job.path, inputs: modelFile.map { [$0] } ?? [], overwrite: overwriting.overwrite)
        }
        for job in jobs {
            let bar = ProgressBar(total: job.count, label: job.name)
            let start = Date()
            let set = try TrajectoryDataset.generate(
                kind: kind, count: job.count, length: length, seed: job.seed,
                doseRange: doses, model: model
            ) { bar.update($0) }
            bar.finish()
            try set.write(job.path)
            let seconds = Date().timeIntervalSince(start)
            print(
                "wrote \(job.count) \(kind.rawValue) trajectories of \(length) frames to \(job.path) (seed \(job.seed), \(String(format: "%.1f", seconds)) s)"
            )
        }
    }
}
