import Foundation
import XCTest
@testable import LeonardoSim
@testable import MicroscopeGym

final class SweepTests: XCTestCase {
    func testShardsMergeIntoTheUnshardedSweep() throws {
        let env = TestCell.make { $0.limits.timeBudget = 20 }
        let doses = [2.0, 20.0]
        let frames = [6.25, 25.0]
        let whole = try SweepTable.run(env, doseRates: doses, frameRates: frames, episodes: 2, seed: 5)
        XCTAssertTrue(whole.isComplete)
        let parts = try (0..<3).map {
            try SweepTable.run(env, doseRates: doses, frameRates: frames, episodes: 2, seed: 5, shard: $0, of: 3)
        }
        XCTAssertFalse(parts[0].isComplete)
        let merged = try SweepTable.merge(parts)
        XCTAssertEqual(merged, whole)
        XCTAssertThrowsError(try SweepTable.merge([parts[0], parts[0]]), "overlapping parts")
        var other = parts[1]
        other.seed = 6
        XCTAssertThrowsError(try SweepTable.merge([parts[0], other]), "different seeds")
        // HDF5 round trip of a part, then merge from files.
        let paths = (0..<3).map { NSTemporaryDirectory() + "sweep-\(getpid())-\($0).h5" }
        for (p, t) in zip(paths, parts) { try t.write(p) }
        let fromFiles = try SweepTable.merge(paths.map { try SweepTable.read($0) })
        for (k, v) in whole.results {
            XCTAssertEqual(fromFiles.results[k]?.episodeReturn.mean, v.episodeReturn.mean)
            XCTAssertEqual(fromFiles.results[k]?.damage.mean, v.damage.mean)
        }
        XCTAssertEqual(fromFiles.best?.doseRate, whole.best?.doseRate)
        XCTAssertEqual(fromFiles.results[2]?.episodeReturns, whole.results[2]?.episodeReturns)
        // Hindsight oracle: per episode the max over settings, never below the best fixed setting's return.
        let oracle = try XCTUnwrap(whole.hindsightOracle)
        let best = try XCTUnwrap(whole.best)
        for e in 0..<2 {
            let maxOver = whole.results.values.map { $0.episodeReturns[e] }.max()!
            XCTAssertGreaterThanOrEqual(maxOver, best.episodeReturns[e])
        }
        XCTAssertEqual(
            oracle.perEpisodeBest.mean,
            (0..<2).map { e in whole.results.values.map { $0.episodeReturns[e] }.max()! }.reduce(0, +) / 2,
            accuracy: 1e-12)
        XCTAssertGreaterThanOrEqual(oracle.gainOverBestFixed.mean, 0)
        XCTAssertNil(parts[0].hindsightOracle, "an incomplete shard has no oracle")
        XCTAssertTrue(whole.csv().split(separator: "\n").count == 5)
        XCTAssertTrue(whole.heatmapSVG().hasPrefix("<svg"))
        XCTAssertThrowsError(try SweepTable.run(env, doseRates: [1000], frameRates: frames, episodes: 1, seed: 1))
    }
}
