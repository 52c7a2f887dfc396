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

final class ParetoFrontTests: XCTestCase {
    /// The front equals a brute-force dominance check on random tables (ties included), sorted by damage.
    /// The best setting is the highest mean return, and on a tie the lowest grid index, whatever the dictionary order.
    func testBestSettingIsTheFirstHighestInGridOrder() {
        var rng = Xoshiro256StarStar(seed: 8)
        for trial in 0..<200 {
            var table = SweepTable(
                environment: "T-v0", doseRates: [1, 2, 3, 4], frameRates: [1, 2, 3], episodes: 1, seed: 0, results: [:])
            for i in 0..<12 where rng.uniform() < 0.8 {
                let value = Double(rng.uniformInt(4))  // coarse: ties are common
                table.results[i] = SettingResult(
                    doseRate: table.doseRates[i / 3], frameRate: table.frameRates[i % 3],
                    episodeReturn: Estimate([value]), signal: Estimate([value]), damage: Estimate([0]),
                    length: Estimate([1]), destroyedFraction: 0)
            }
            let means = table.results.mapValues { $0.episodeReturn.mean }
            let expected = means.values.max().flatMap { top in means.keys.filter { means[$0] == top }.min() }
            XCTAssertEqual(table.bestIndex, expected, "trial \(trial)")
            // (SettingResult holds NaN intervals for one episode, so compare the setting, not the whole value.)
            XCTAssertEqual(table.best?.doseRate, expected.map { table.results[$0]!.doseRate }, "trial \(trial)")
            XCTAssertEqual(table.best?.frameRate, expected.map { table.results[$0]!.frameRate }, "trial \(trial)")
        }
    }

    func testFrontMatchesBruteForceDominance() {
        var rng = Xoshiro256StarStar(seed: 5)
        for trial in 0..<200 {
            var table = SweepTable(
                environment: "T-v0", doseRates: [1, 2, 3, 4], frameRates: [1, 2, 3], episodes: 1, seed: 0, results: [:])
            for i in 0..<12 where rng.uniform() < 0.8 {
                // Coarse values so that equal signals or damages occur.
                let signal = Double(rng.uniformInt(6))
                let damage = Double(rng.uniformInt(6)) / 5
                table.results[i] = SettingResult(
                    doseRate: table.doseRates[i / 3], frameRate: table.frameRates[i % 3],
                    episodeReturn: Estimate([signal - damage]), signal: Estimate([signal]), damage: Estimate([damage]),
                    length: Estimate([1]), destroyedFraction: 0)
            }
            func dominates(_ b: SettingResult, _ a: SettingResult) -> Bool {
                b.signal.mean >= a.signal.mean && b.damage.mean <= a.damage.mean
                    && (b.signal.mean > a.signal.mean || b.damage.mean < a.damage.mean)
            }
            let front = table.paretoFront
            for i in table.results.keys {
                let dominated = table.results.values.contains { dominates($0, table.results[i]!) }
                XCTAssertEqual(front.contains(i), !dominated, "trial \(trial), setting \(i)")
            }
            let damages = front.map { table.results[$0]!.damage.mean }
            XCTAssertEqual(damages, damages.sorted(), "trial \(trial): the front is sorted by damage")
            // Along the front, more damage buys strictly more signal (equal settings tie and both stay on it).
            let signals = front.map { table.results[$0]!.signal.mean }
            for k in signals.indices.dropFirst() {
                if damages[k] > damages[k - 1] {
                    XCTAssertGreaterThan(signals[k], signals[k - 1])
                } else {
                    XCTAssertEqual(signals[k], signals[k - 1])
                }
            }
            let csvFlags = table.csv().split(separator: "\n").dropFirst().map { $0.hasSuffix(",1") }
            XCTAssertEqual(csvFlags.filter { $0 }.count, front.count)
        }
    }
}
