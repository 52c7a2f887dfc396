import Foundation
import LeonardoSim
import XCTest

/// The command line on bad input: every error is one line naming the problem, with a non-zero exit and no
/// crash trace; a few cheap commands succeed. Runs the `gym-runner` binary that `swift test` builds next to
/// the test bundle.
final class CLIErrorTests: XCTestCase {
    var binary: URL {
        // On Linux the test runner lives in the build products folder, beside the executable.
        Bundle.main.bundleURL.appendingPathComponent("gym-runner")
    }

    /// The working directory of every command of a test: a fresh temporary folder, so that no test sees what an earlier
    /// run (the demo's `runs/dqn`, a previous test run) left in the checkout, and none writes into it.
    var workingDirectory: URL!

    override func setUpWithError() throws {
        workingDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "cli-work-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: workingDirectory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let workingDirectory { try? FileManager.default.removeItem(at: workingDirectory) }
    }

    /// Runs gym-runner with arguments in `workingDirectory`; returns exit status, standard output and standard error.
    func run(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = binary
        p.arguments = arguments
        p.currentDirectoryURL = workingDirectory
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    /// The command fails with a non-zero status and a short error that mentions every given fragment.
    func assertFails(
        _ arguments: [String], mentions fragments: [String], file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let r = try run(arguments)
        XCTAssertNotEqual(r.status, 0, "\(arguments) should fail", file: file, line: line)
        let message = r.err.trimmingCharacters(in: .whitespacesAndNewlines)
        let firstLine = message.split(separator: "\n").first.map(String.init) ?? ""
        for f in fragments {
            XCTAssertTrue(
                firstLine.localizedCaseInsensitiveContains(f), "\(arguments): '\(firstLine)' does not mention '\(f)'",
                file: file, line: line)
        }
        XCTAssertFalse(
            message.contains("Fatal error") || message.contains("Stack dump") || message.contains("Backtrace"),
            "\(arguments) crashed: \(message)", file: file, line: line)
    }

    func testBinaryIsBuilt() {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: binary.path), "\(binary.path) missing")
    }

    func testUnknownAgentEnvironmentAndFlags() throws {
        try assertFails(["train", "--agent", "sarsa"], mentions: ["agent", "sarsa"])
        try assertFails(["--agent", "dqn", "--env", "NoSuchCell-v9"], mentions: ["NoSuchCell-v9"])
        try assertFails(["train", "--steps", "-5"], mentions: ["steps"])
        try assertFails(["train", "--steps", "many"], mentions: ["steps", "many"])
        try assertFails(["train", "--no-such-flag"], mentions: ["no-such-flag"])
        try assertFails(["sweep", "--shard", "3/2"], mentions: ["shard"])
        try assertFails(["sweep", "--dose", "1:x:3"], mentions: ["dose"])
        try assertFails(["generate", "--prior", "uniform"], mentions: ["prior", "uniform"])
        try assertFails(["generate", "--dose-residual"], mentions: ["--dose-residual", "--dose-rate"])
        // A sweep file is HDF5 with its .csv written beside it: a .csv name would be overwritten by its own table.
        try assertFails(
            ["design", "headroom", "--env", "LiquidCell-v2", "--sweep", "s.csv"], mentions: ["s.csv", "s.h5"])
        try assertFails(["design", "sweep", "--out", "grid.svg"], mentions: ["grid.svg", "grid.h5"])
        try assertFails(["design", "merge", "--out", "all.csv", "a.h5"], mentions: ["all.csv", "all.h5"])
    }

    /// Inputs are checked before outputs: with the demo's run folder present (`runs/dqn` holding a run), an unknown
    /// environment, a bad spec file or a bad fixed action is named, not the folder.
    func testInputsAreCheckedBeforeTheRunFolder() throws {
        let runs = workingDirectory.appendingPathComponent("runs/dqn")
        try FileManager.default.createDirectory(at: runs, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: runs.appendingPathComponent("config.json"))
        try assertFails(["--agent", "dqn", "--env", "NoSuchCell-v9"], mentions: ["NoSuchCell-v9"])
        try assertFails(["--agent", "dqn", "--env-file", "absent.json"], mentions: ["absent.json"])
        try assertFails(["--agent", "fixed", "--fixed-action", "999"], mentions: ["--fixed-action", "999"])
        // With good inputs, the folder is what is wrong.
        try assertFails(["--agent", "dqn", "--steps", "10"], mentions: ["runs/dqn", "--overwrite"])
        // Output-writing commands name a missing input before an existing output.
        let existing = workingDirectory.appendingPathComponent("out.h5").path
        try Data("x".utf8).write(to: URL(fileURLWithPath: existing))
        try assertFails(["generate", "--checkpoint", "nowhere.h5", "--out", existing], mentions: ["nowhere.h5"])
        try assertFails(["encode", "--data", "absent.h5", "--out", existing], mentions: ["absent.h5"])
        try assertFails(
            ["trace", "--env", "NoSuchCell-v9", "--actions", "1", "--out", existing], mentions: ["NoSuchCell-v9"])
    }

    func testUnreadableAndMalformedFiles() throws {
        let dir = NSTemporaryDirectory() + "cli-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try assertFails(["evaluate", "--policy", dir + "/missing.h5"], mentions: ["missing.h5"])
        let junk = dir + "/junk.h5"
        try Data("not hdf5".utf8).write(to: URL(fileURLWithPath: junk))
        try assertFails(["evaluate", "--policy", junk], mentions: ["junk.h5"])
        try assertFails(
            ["generate", "--checkpoint", junk, "--count", "2", "--out", dir + "/g.h5"], mentions: ["junk.h5"])
        let spec = dir + "/Bad-v0.json"
        try Data(#"{"id": "Bad-v0"}"#.utf8).write(to: URL(fileURLWithPath: spec))
        try assertFails(["check", "--env-file", spec], mentions: ["Bad-v0.json"])
        try assertFails(["merge", dir + "/none.h5", "--out", dir + "/m.h5"], mentions: ["none.h5"])
        try assertFails(["encode", "--data", dir + "/absent.h5", "--out", dir + "/e.h5"], mentions: ["absent.h5"])
        try assertFails(
            ["train-leonardo", "--data", junk, "--out", dir + "/t.h5", "--init-from", dir + "/nowhere.h5"],
            mentions: ["nowhere.h5"])
        try assertFails(
            ["train-leonardo", "--data", junk, "--out", dir + "/t.h5", "--init-from", junk, "--resume"],
            mentions: ["--init-from", "--resume"])
        try assertFails(
            ["train-leonardo", "--data", junk, "--out", dir + "/t.h5", "--block-heterogeneity", "-1"],
            mentions: ["--block-heterogeneity"])
        try assertFails(
            ["train-leonardo", "--data", junk, "--out", dir + "/t.h5", "--heterogeneity-blocks", "1"],
            mentions: ["--heterogeneity-blocks"])
        try assertFails(
            ["train-leonardo", "--data", junk, "--out", dir + "/t.h5", "--long-lag-msd", "nan"],
            mentions: ["--long-lag-msd"])
        try assertFails(
            ["train-leonardo", "--data", junk, "--out", dir + "/t.h5", "--step-profile", "-2"],
            mentions: ["--step-profile"])
    }

    /// The real-data training flags: bad values and combinations are named.
    func testRealDataTrainingFlags() throws {
        let dir = NSTemporaryDirectory() + "cli-real-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/t.h5"
        try assertFails(
            ["train-leonardo", "--data", "x.h5", "--out", out, "--loss-weight", "msee=0"],
            mentions: ["--loss-weight", "msee=0"])
        try assertFails(
            ["train-leonardo", "--data", "x.h5", "--out", out, "--loss-weight", "mse=-1"], mentions: ["--loss-weight"])
        try assertFails(
            ["train-leonardo", "--data", "x.h5", "--out", out, "--window-stride", "20"],
            mentions: ["--window-stride", "--segment"])
        try assertFails(
            ["train-leonardo", "--data", "x.h5", "--out", out, "--noise-channels", "4"],
            mentions: ["--noise-channels", "stationary"])
        try assertFails(
            ["train-leonardo", "--data", "x.h5", "--out", out, "--decoder", "diagonal"],
            mentions: ["decoder", "diagonal"])
        try assertFails(
            ["train-leonardo", "--data", "x.h5", "--out", out, "--dose-anchor-axis", "a.h5"],
            mentions: ["--dose-anchor-axis", "--dose-anchor"])
        try assertFails(
            ["split-real", "--make-split", "45", "--split", dir + "/s.json", "--out-dir", dir],
            mentions: ["--make-split", "VAL:TEST"])
        try assertFails(["split-real", "--split", dir + "/absent.json", "--out-dir", dir], mentions: ["absent.json"])
        try assertFails(["plot-curve", "--csv", dir + "/absent.csv"], mentions: ["absent.csv"])
        // A model without a dose calibration cannot be matched to recordings.
        let data = dir + "/bm.h5"
        XCTAssertEqual(
            try run(["dataset", "--kind", "bm", "--count", "4", "--length", "16", "--seed", "1", "--out", data]).status,
            0)
        XCTAssertEqual(
            try run(["train-leonardo", "--data", data, "--out", out, "--model", "tiny", "--epochs", "1", "--batch", "2"]
            ).status, 0)
        try assertFails(["match-dose", "--checkpoint", out, "--data", data], mentions: ["dose calibration"])
    }

    /// A resumed run keeps its loss: asking for another L12 weight is an error, not silently ignored.
    func testResumeRefusesAnotherLoss() throws {
        let dir = NSTemporaryDirectory() + "cli-resume-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = dir + "/bm.h5"
        let ck = dir + "/t.h5"
        XCTAssertEqual(try run(["dataset", "--kind", "bm", "--count", "4", "--seed", "1", "--out", data]).status, 0)
        let first = try run([
            "train-leonardo", "--data", data, "--out", ck, "--model", "tiny", "--segment", "--limit", "6", "--epochs",
            "1", "--batch", "2",
            "--block-heterogeneity", "3"
        ])
        XCTAssertEqual(first.status, 0, first.err)
        try assertFails(
            [
                "train-leonardo", "--data", data, "--out", ck, "--model", "tiny", "--segment", "--limit", "6",
                "--epochs", "2", "--batch", "2",
                "--resume", "--block-heterogeneity", "5"
            ], mentions: ["--block-heterogeneity", "3.0"])
        try assertFails(
            [
                "train-leonardo", "--data", data, "--out", ck, "--model", "tiny", "--segment", "--limit", "6",
                "--epochs", "2", "--batch", "2",
                "--resume", "--long-lag-msd", "1"
            ], mentions: ["--long-lag-msd", "0.0"])
        let resumed = try run([
            "train-leonardo", "--data", data, "--out", ck, "--model", "tiny", "--segment", "--limit", "6", "--epochs",
            "2", "--batch", "2", "--resume"
        ])
        XCTAssertEqual(resumed.status, 0, resumed.err)
        XCTAssertTrue(resumed.out.contains("block_heterogeneity"), resumed.out)
    }

    func testListSucceeds() throws {
        let r = try run(["list"])
        XCTAssertEqual(r.status, 0, r.err)
        for id in ["LiquidCell-v0", "BeamSensitive-v0", "DoseBudget-v0", "dqn", "heuristic"] {
            XCTAssertTrue(r.out.contains(id), "list does not show \(id)")
        }
    }
}

/// `gym-runner fill` refuses what it cannot serve, naming the trajectory and the problem, before sampling anything.
extension CLIErrorTests {
    func testFillRefusesBadInputs() throws {
        let cli = self
        let dir = workingDirectory.path
        func write(_ name: String, _ values: [Double], shape: [Int], dataset: String = "trajectories") throws -> String
        {
            let path = dir + "/" + name
            let f = try HDF5File.create(path)
            try f.write(dataset, values, shape: shape)
            f.close()
            return path
        }
        // A random walk of 2 × 120 frames; the second trajectory keeps only every 20th frame (6 of 120).
        var rng = Xoshiro256StarStar(seed: 1)
        var walk = [Double](repeating: 0, count: 2 * 120 * 2)
        for k in 2..<walk.count { walk[k] = walk[k - 2] + rng.normal() }
        var sparse = walk
        for t in 0..<120 where t % 20 != 0 {
            sparse[(120 + t) * 2] = .nan
            sparse[(120 + t) * 2 + 1] = .nan
        }
        let scale = ["--step-scale", Array(repeating: "0.2", count: 12).joined(separator: ",")]
        let few = try write("few.h5", sparse, shape: [2, 120, 2])
        try cli.assertFails(
            ["fill", "--data", few, "--out", dir + "/o.h5"] + scale, mentions: ["trajectory 1", "only 6"])
        var infinite = walk
        infinite[7] = .infinity
        let bad = try write("inf.h5", infinite, shape: [2, 120, 2])
        try cli.assertFails(["fill", "--data", bad, "--out", dir + "/o.h5"] + scale, mentions: ["non-finite"])
        let flat = try write("flat.h5", walk, shape: [240, 2])
        try cli.assertFails(["fill", "--data", flat, "--out", dir + "/o.h5"] + scale, mentions: ["shape", "N×T×2"])
        let other = try write("other.h5", walk, shape: [2, 120, 2], dataset: "positions")
        try cli.assertFails(["fill", "--data", other, "--out", dir + "/o.h5"] + scale, mentions: ["trajectories"])
        try cli.assertFails(["fill", "--data", few, "--step-scale", "0.2,0.2"], mentions: ["--step-scale", "12"])
        try cli.assertFails(["fill", "--data", few, "--proposal", "gibbs"] + scale, mentions: ["--proposal", "gibbs"])
        try cli.assertFails(["fill", "validate", "--losses", "random:2"], mentions: ["random:2"])
        try cli.assertFails(["fill", "--data", few, "--residual", "ou"] + scale, mentions: ["--residual", "ou"])
        try cli.assertFails(
            ["fill", "--data", few, "--residual-prior", dir + "/missing.json"] + scale,
            mentions: ["missing.json", "prior"])
        FileManager.default.createFile(atPath: dir + "/prior.json", contents: Data("{\"prior\": 3}".utf8))
        try cli.assertFails(
            ["fill", "--data", few, "--residual-prior", dir + "/prior.json"] + scale, mentions: ["prior.json", "prior"])
        try cli.assertFails(["fill", "learn-prior", "--weight", "-1"], mentions: ["--weight"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/o.h5"))
    }

    /// A short `fill` run on a random walk with every third frame lost: the recorded frames come back as recorded,
    /// every frame is finite, the fbm residual's fit is reported, and the too-short run is flagged, not trusted.
    func testFillWritesCompletionsAndTheResidualFit() throws {
        let dir = workingDirectory.path
        var rng = Xoshiro256StarStar(seed: 4)
        let T = 60
        var walk = [Double](repeating: 0, count: T * 2)
        for k in 2..<walk.count { walk[k] = walk[k - 2] + 3 * rng.normal() }
        var lost = walk
        for t in 0..<T where t % 3 == 1 {
            lost[2 * t] = .nan
            lost[2 * t + 1] = .nan
        }
        let input = dir + "/lost.h5"
        let f = try HDF5File.create(input)
        try f.write("trajectories", lost, shape: [1, T, 2])
        f.close()
        let scale = ["--step-scale", Array(repeating: "0.2", count: 12).joined(separator: ",")]
        let r = try run(
            [
                "fill", "--data", input, "--out", dir + "/filled.h5", "--chains", "2", "--steps", "8", "--burn-in", "2",
                "--completions", "2"
            ] + scale)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.err.contains("effective sample size"), r.err)
        let h = try HDF5File.open(dir + "/filled.h5")
        defer { h.close() }
        let filled = try h.readDouble("filled").data
        XCTAssertEqual(filled.count, T * 2)
        for t in 0..<T {
            for a in 0..<2 {
                XCTAssertTrue(filled[2 * t + a].isFinite)
                if t % 3 != 1 { XCTAssertEqual(filled[2 * t + a], walk[2 * t + a], accuracy: 1e-9) }
            }
        }
        let hurst = try h.readDouble("hurst").data
        XCTAssertEqual(hurst.count, 1)
        XCTAssertTrue((0.05...0.95).contains(hurst[0]), "H \(hurst)")
        XCTAssertGreaterThan(try h.readDouble("diffusivity").data[0], 0)
        XCTAssertEqual(try h.readInt64("trustworthy").data, [0])
        // Without the decoder: exact draws, trusted, the recorded frames kept.
        let exact = try run(["fill", "--data", input, "--out", dir + "/exact.h5", "--no-decoder"] + scale)
        XCTAssertEqual(exact.status, 0, exact.err)
        let e = try HDF5File.open(dir + "/exact.h5")
        defer { e.close() }
        let exactFilled = try e.readDouble("filled").data
        for t in 0..<T where t % 3 != 1 { XCTAssertEqual(exactFilled[2 * t], walk[2 * t], accuracy: 1e-9) }
        XCTAssertTrue(exactFilled.allSatisfy(\.isFinite))
        XCTAssertEqual(try e.readInt64("trustworthy").data, [1])
        try assertFails(["fill", "validate", "--no-decoder"], mentions: ["--no-decoder"])
    }
}

/// `gym-runner fill recording` scores the environment's fill against a recording's true positions.
extension CLIErrorTests {
    /// A recording-shaped file of random walks (step sd 3 per axis, noise sd 1, every third frame lost) at two dose
    /// rates: the fill beats holding and linear interpolation in the table and the JSON; bad files are refused.
    func testFillRecordingScoresTheFillAndRefusesBadFiles() throws {
        let dir = workingDirectory.path
        let (S, T) = (8, 64)
        var rng = Xoshiro256StarStar(seed: 9)
        var truth = [Float](repeating: 0, count: S * T * 2)
        var observed = truth
        for s in 0..<S {
            var x = (0.0, 0.0)
            for t in 0..<T {
                x.0 += 3 * rng.normal()
                x.1 += 3 * rng.normal()
                let k = 2 * (s * T + t)
                truth[k] = Float(x.0)
                truth[k + 1] = Float(x.1)
                let lost = t % 3 == 1
                observed[k] = lost ? .nan : Float(x.0 + rng.normal())
                observed[k + 1] = lost ? .nan : Float(x.1 + rng.normal())
            }
        }
        let path = dir + "/rec.h5"
        let f = try HDF5File.create(path)
        try f.setAttribute("environment", "MixedSample-v0")
        try f.write("observed", observed, shape: [S, T, 2])
        try f.write("true_positions", truth, shape: [S, T, 2])
        try f.write("dose_rate", (0..<S).map { $0 < 4 ? 2.0 : 10.0 }, shape: [S])
        f.close()
        let r = try run(["fill", "recording", "--recording", path, "--json", dir + "/fill.json"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("8 segments, 8 with lost frames"), r.out)
        struct Row: Decodable {
            var doseRate: String
            var segments: Int
            var filledRMSE, heldRMSE, linearRMSE, lostShare: Double
        }
        let rows = try JSONDecoder().decode(
            [Row].self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/fill.json")))
        XCTAssertEqual(rows.map(\.doseRate), ["2", "10", "all"])
        XCTAssertEqual(rows.map(\.segments), [4, 4, 8])
        let all = try XCTUnwrap(rows.last)
        XCTAssertEqual(all.lostShare, 21.0 / 64, accuracy: 1e-9)
        XCTAssertLessThan(all.filledRMSE, all.heldRMSE)
        XCTAssertLessThan(all.filledRMSE, all.linearRMSE)

        try assertFails(["fill", "recording", "--recording", dir + "/missing.h5"], mentions: ["missing.h5"])
        let bad = dir + "/bad.h5"
        let g = try HDF5File.create(bad)
        try g.setAttribute("environment", "MixedSample-v0")
        try g.write("observed", observed, shape: [S, T, 2])
        try g.write("true_positions", Array(truth.prefix(S * T)), shape: [S, T / 2, 2])
        try g.write("dose_rate", [Double](repeating: 2, count: S), shape: [S])
        g.close()
        try assertFails(["fill", "recording", "--recording", bad], mentions: ["bad.h5", "shape"])
        try assertFails(
            ["fill", "recording", "--recording", path, "--env", "Nowhere-v9"], mentions: ["Nowhere-v9"])
        try assertFails(["fill", "recording", "--recording", path, "--band-level", "1.5"], mentions: ["--band-level"])
    }
}
