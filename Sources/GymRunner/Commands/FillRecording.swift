import ArgumentParser
import Foundation
import LeonardoSim
import MicroscopeGym

/// `gym-runner fill recording`: how well the environment's fill of lost frames (`FillLostFrames`, the belief
/// features) recovers the true positions of a recording.
struct FillRecording: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recording",
        abstract: "Score the environment's fill of lost frames (FillLostFrames) against a recording's true positions.",
        discussion: """
            Reads a recording (gym-runner evaluate --record), fills every recorded segment's lost frames as \
            FillLostFrames does (the variogram fit of fBm + localisation noise, H from the fill prior), and reports per \
            dose rate the RMSE over lost coordinates of the fill, of holding the last tracked position and of linear \
            interpolation, the paired per-segment difference with a 95 % interval, and the coverage of the \
            uncertainty band on lost frames and on tracked ones (the noise estimate). docs/between-frames.md, \
            "In the environment".
            """)

    @Option(help: "Recording (HDF5, written by 'gym-runner evaluate --record').") var recording: String
    @Option(help: "Environment whose model and calibration the belief uses (default: the recording's).") var env:
        String?
    @Option(help: "Fill prior (JSON) whose centre gives H (default: the shipped one).") var prior: String =
        SegmentBelief.defaultPriorPath
    @Option(help: "Coverage of the band.") var bandLevel: Double = 0.9
    @Option(help: "Also write the table as JSON.") var json: String?
    @OptionGroup var overwriting: OverwriteOption

    func validate() throws {
        guard bandLevel > 0, bandLevel < 1 else {
            throw ValidationError("--band-level must be in (0, 1), got \(bandLevel)")
        }
    }

    /// Sums of one group of segments.
    struct Group {
        var scores: [SegmentBelief.Score] = []
        var total: SegmentBelief.Score {
            var t = SegmentBelief.Score()
            for s in scores {
                t.lost += s.lost
                t.filledSquaredError += s.filledSquaredError
                t.heldSquaredError += s.heldSquaredError
                t.linearSquaredError += s.linearSquaredError
                t.covered += s.covered
                t.banded += s.banded
                t.tracked += s.tracked
                t.trackedCovered += s.trackedCovered
                t.trackedBanded += s.trackedBanded
            }
            return t
        }
    }

    struct Row: Codable {
        var doseRate: String
        var segments: Int
        var lostShare: Double
        var filledRMSE: Double
        var heldRMSE: Double
        var linearRMSE: Double
        var filledMinusLinear: [Double]
        var filledMinusHeld: [Double]
        var lostCoverage: Double
        var trackedCoverage: Double
        var unmodelled: Int
    }

    func run() throws {
        try requireReadableFiles([recording, prior])
        if let json { try claimOutput(json, inputs: [recording, prior], overwrite: overwriting.overwrite) }
        let file = try HDF5File.open(recording)
        defer { file.close() }
        guard let id = try env ?? file.stringAttribute("environment") else {
            throw UserError("\(recording) names no environment: pass --env")
        }
        let observed = try file.readFloat("observed")
        let truth = try file.readFloat("true_positions")
        let dose = try file.readDouble("dose_rate")
        guard observed.shape.count == 3, observed.shape == truth.shape, observed.shape[2] == 2,
            dose.data.count == observed.shape[0]
        else {
            throw UserError(
                "\(recording): 'observed' and 'true_positions' must be S×T×2 of one shape and 'dose_rate' S long; got \(observed.shape), \(truth.shape), \(dose.data.count)"
            )
        }
        let cell: LiquidCell
        do { cell = try makeEnvironment(id: id) } catch let error as EnvironmentError {
            throw UserError(error.description)
        }
        let belief: SegmentBelief
        do { belief = try SegmentBelief(cell: cell, priorPath: prior) } catch let error as EnvironmentError {
            throw UserError(error.description)
        }
        let (S, T) = (observed.shape[0], observed.shape[1])
        var groups: [Double: Group] = [:]
        var all = Group()
        let bar = ProgressBar(total: S, label: "fill recording")
        for s in 0..<S {
            let range = (2 * T * s)..<(2 * T * (s + 1))
            if let score = belief.score(
                Array(observed.data[range]), truth: Array(truth.data[range]), frames: T, level: bandLevel)
            {
                groups[dose.data[s], default: Group()].scores.append(score)
                all.scores.append(score)
            }
            bar.update(s + 1)
        }
        bar.finish()
        guard !all.scores.isEmpty else { throw UserError("\(recording): no segment has both lost and tracked frames") }
        func row(_ name: String, _ g: Group) -> Row {
            let t = g.total
            let rmse = { (e: Double) in (e / Double(t.lost)).squareRoot() }
            let perSegment = { (e: KeyPath<SegmentBelief.Score, Double>) in
                g.scores.map { ($0[keyPath: e] / Double($0.lost)).squareRoot() }
            }
            let filled = perSegment(\.filledSquaredError)
            let linear = perSegment(\.linearSquaredError)
            let held = perSegment(\.heldSquaredError)
            let dl = FillValidation.pairedInterval(zip(filled, linear).map { $0 - $1 })
            let dh = FillValidation.pairedInterval(zip(filled, held).map { $0 - $1 })
            return Row(
                doseRate: name, segments: g.scores.count, lostShare: Double(t.lost) / Double(t.lost + t.tracked),
                filledRMSE: rmse(t.filledSquaredError), heldRMSE: rmse(t.heldSquaredError),
                linearRMSE: rmse(t.linearSquaredError), filledMinusLinear: [dl.mean, dl.halfWidth],
                filledMinusHeld: [dh.mean, dh.halfWidth], lostCoverage: Double(t.covered) / Double(max(t.banded, 1)),
                trackedCoverage: Double(t.trackedCovered) / Double(max(t.trackedBanded, 1)),
                unmodelled: g.scores.filter { !$0.modelled }.count)
        }
        var rows = groups.keys.sorted().map { row(String(format: "%g", $0), groups[$0]!) }
        rows.append(row("all", all))
        print(
            "\(id), \(recording): \(S) segments, \(all.scores.count) with lost frames; band \(Int(bandLevel * 100)) %")
        print(
            "dose e/Å²/s  segments  lost   RMSE fill / hold / linear (nm)   fill − linear (95 % CI)   fill − hold         coverage lost / tracked   no model"
        )
        for r in rows {
            print(
                String(
                    format:
                        "%@  %8d  %4.0f%%   %6.2f / %6.2f / %6.2f          %+6.2f ± %.2f            %+6.2f ± %.2f      %5.1f%% / %5.1f%%           %d",
                    String(repeating: " ", count: max(0, 11 - r.doseRate.count)) + r.doseRate, r.segments,
                    100 * r.lostShare, r.filledRMSE, r.heldRMSE, r.linearRMSE,
                    r.filledMinusLinear[0], r.filledMinusLinear[1], r.filledMinusHeld[0], r.filledMinusHeld[1],
                    100 * r.lostCoverage, 100 * r.trackedCoverage, r.unmodelled))
        }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try writeAtomically(json, try encoder.encode(rows))
            print("wrote \(json)")
        }
    }
}
