import ArgumentParser
import Foundation
import LeonardoSim

struct SplitReal: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "split-real",
        abstract: "Split the experimental trajectories by particle into train, validation and test files.",
        discussion: """
            Reads the split (particle indices of each part) from --split and writes OUT-DIR/train.h5, validation.h5 and \
            test.h5 with the full-length trajectories of each part (attribute 'particles': their indices). With \
            --make-split VAL:TEST a new seeded split is drawn and written to --split first (refused if the file exists). \
            The test particles must stay out of every fit: train on train.h5, early-stop on validation.h5, judge on test.h5.
            """)

    @Option(help: "Experimental trajectories (HDF5, 'trajectories' N×T×2).") var data: String = defaultRealDataPath()
    @Option(help: "Particle split (JSON).") var split: String = defaultRealSplitPath()
    @Option(help: "Draw a new split with VAL:TEST particles (the rest train) and write it to --split.") var makeSplit:
        String?
    @Option(help: "Seed of a new split.") var seed: UInt64 = 13
    @Option(help: "Folder for train.h5, validation.h5 and test.h5.") var outDir: String = "runs/real"
    @Option(
        help:
            "Also write PART-windows.h5: every window of --window-length frames starting every this many frames, with its 8 rotations/reflections (the sets the realism report compares against)."
    ) var windowStride: Int?
    @Option(help: "Frames per window for --window-stride.") var windowLength: Int = 200

    func validate() throws {
        if let k = windowStride { try requireRange(k, 1...100_000, "--window-stride") }
        try requireRange(windowLength, 3...100_000, "--window-length")
        if makeSplit != nil { _ = try splitCounts() }
    }

    /// --make-split VAL:TEST as two counts.
    func splitCounts() throws -> (validation: Int, test: Int) {
        let parts = (makeSplit ?? "").split(separator: ":").map { Int($0) }
        guard parts.count == 2, let v = parts[0], let t = parts[1], v >= 1, t >= 1 else {
            throw ValidationError(
                "--make-split must be VAL:TEST (two positive particle counts), got '\(makeSplit ?? "")'")
        }
        return (v, t)
    }

    func run() throws {
        let set = try TrajectorySet.read(data)
        let particleSplit: ParticleSplit
        if makeSplit != nil {
            let (v, t) = try splitCounts()
            guard !FileManager.default.fileExists(atPath: split) else {
                throw UserError("\(split) exists; a split is made once (delete it to draw another)")
            }
            particleSplit = try ParticleSplit.make(particles: set.count, validationCount: v, testCount: t, seed: seed)
            try particleSplit.write(split)
            print("wrote \(split)")
        } else {
            particleSplit = try ParticleSplit.read(split)
        }
        guard particleSplit.particles == set.count else {
            throw UserError("\(split) splits \(particleSplit.particles) particles but \(data) holds \(set.count)")
        }
        try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
        for (name, part) in [
            ("train", particleSplit.train), ("validation", particleSplit.validation), ("test", particleSplit.test)
        ] {
            var subset = set.subset(part)
            subset.attributes["particles"] = "[" + part.map(String.init).joined(separator: ",") + "]"
            subset.attributes["source"] = data
            let path = (outDir as NSString).appendingPathComponent(name + ".h5")
            try subset.write(path)
            print("\(name): \(part.count) particles → \(path)")
            if let windowStride {
                let windows = try subset.windows(windowLength, stride: windowStride).symmetryAugmented()
                let wpath = (outDir as NSString).appendingPathComponent(name + "-windows.h5")
                try windows.write(wpath)
                print("\(name): \(windows.count) windows with their symmetry images → \(wpath)")
            }
        }
    }
}
