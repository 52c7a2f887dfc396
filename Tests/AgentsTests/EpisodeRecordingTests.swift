import Foundation
import XCTest

@testable import Agents
@testable import LeonardoSim
@testable import MicroscopeGym

/// A recording is complete and exact: it is the evaluated episodes, every observation is consistent with the
/// recorded true positions, detection and settings, and the same seeds and policy write the same bytes.
final class EpisodeRecordingTests: XCTestCase {
    func testRecordingsAreTheEvaluatedEpisodesAndConsistent() throws {
        // Particles that differ (MixedSample-v0's spreads) on the tiny decoder: the hidden parameters vary.
        var cell = try tinyLiquidCell()
        var spec = try EnvironmentRegistry.spec(id: "MixedSample-v0")
        spec.segmentFrames = 32
        spec.limits.maxSteps = 12
        cell = try LiquidCell(spec: spec, model: cell.model)
        let seeds: [UInt64] = [7, 8, 9]
        var agent = HeuristicAgent(doseRates: cell.spec.doseRates, frameRates: cell.spec.frameRates)
        var evaluated = agent
        let expected = try Evaluation.run(&evaluated, environment: cell, seeds: seeds)
        let r = try EpisodeRecording.record(&agent, environment: cell, seeds: seeds)
        XCTAssertEqual(r.returns, expected.returns, "the recorded episodes are the evaluated ones")
        XCTAssertEqual(r.lengths.map(Double.init).reduce(0, +), expected.length.mean * 3, accuracy: 1e-9)
        XCTAssertEqual(r.stepCount, Int(r.lengths.reduce(0, +)))
        XCTAssertEqual(r.firstStep, [0, r.lengths[0], r.lengths[0] + r.lengths[1]])
        XCTAssertGreaterThan(Set(r.logContrast).count, 1, "the particles differ in contrast")
        let T = r.frames
        let K = r.infoKeys.count
        let column = { (key: String) in r.infoKeys.firstIndex(of: key)! }
        var lost = 0
        for s in 0..<r.stepCount {
            let (d, f) = cell.setting(for: Int(r.action[s]))
            XCTAssertEqual(r.doseRate[s], d)
            XCTAssertEqual(r.frameRate[s], f)
            XCTAssertEqual(r.info[s * K + column("dose_rate")], d)
            XCTAssertEqual(r.info[s * K + column("frame_rate")], f)
            let sigma = r.info[s * K + column("localization_precision_nm")]
            var detected = 0
            for t in 0..<T {
                let (ox, oy) = (r.observed[(s * T + t) * 2], r.observed[(s * T + t) * 2 + 1])
                let (tx, ty) = (r.truePositions[(s * T + t) * 2], r.truePositions[(s * T + t) * 2 + 1])
                XCTAssertTrue(tx.isFinite && ty.isFinite, "true positions are always known")
                XCTAssertEqual(ox.isNaN, oy.isNaN, "a frame is lost on both axes or on none")
                if ox.isNaN {
                    lost += 1
                    continue
                }
                detected += 1
                // Localisation noise: within 6 σ of the truth (float32 rounding of nm positions aside).
                XCTAssertLessThanOrEqual(abs(Double(ox - tx)), 6 * sigma + 1e-3 * max(1, abs(Double(tx))))
                XCTAssertLessThanOrEqual(abs(Double(oy - ty)), 6 * sigma + 1e-3 * max(1, abs(Double(ty))))
            }
            XCTAssertEqual(
                Double(detected) / Double(T), r.info[s * K + column("detected_fraction")], accuracy: 1e-12)
            XCTAssertEqual(
                r.latent[s * r.latentDimension + cell.calibration.index], r.info[s * K + column("latent_dose")],
                accuracy: 1e-6)
        }
        XCTAssertGreaterThan(lost, 0, "some frames are lost at low dose")
        // The same seeds and policy write the same bytes.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("recording-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let (a, b) = (folder.appendingPathComponent("a.h5").path, folder.appendingPathComponent("b.h5").path)
        try r.write(a)
        var again = HeuristicAgent(doseRates: cell.spec.doseRates, frameRates: cell.spec.frameRates)
        try EpisodeRecording.record(&again, environment: cell, seeds: seeds).write(b)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: a)), try Data(contentsOf: URL(fileURLWithPath: b)))
        let f = try HDF5File.open(a)
        defer { f.close() }
        XCTAssertEqual(try f.shape("observed"), [r.stepCount, T, 2])
        XCTAssertEqual(try f.shape("info"), [r.stepCount, K])
        XCTAssertEqual(try f.stringAttribute("format"), EpisodeRecording.format)
    }
}
