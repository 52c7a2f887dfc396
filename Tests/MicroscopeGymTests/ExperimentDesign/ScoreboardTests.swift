import Foundation
import XCTest

@testable import LeonardoSim
@testable import MicroscopeGym

final class ScoreboardTests: XCTestCase {
    func testNormalizedScoreAnchorsRandomAtZeroAndBestFixedAtOne() {
        XCTAssertEqual(Scoreboard.normalizedScore(agent: 5, random: 5, bestFixed: 25), 0)
        XCTAssertEqual(Scoreboard.normalizedScore(agent: 25, random: 5, bestFixed: 25), 1)
        XCTAssertEqual(Scoreboard.normalizedScore(agent: 30, random: 5, bestFixed: 25), 1.25)
        XCTAssertEqual(Scoreboard.normalizedScore(agent: -5, random: 5, bestFixed: 25), -0.5)
        XCTAssertTrue(Scoreboard.normalizedScore(agent: 1, random: 2, bestFixed: 2).isNaN)
    }

    /// SciPy: trim_mean([1, 2, …, 8], 0.25) = mean(3, 4, 5, 6) = 4.5; trim_mean of 7 values drops one at each end.
    func testInterquartileMeanMatchesSciPysTrimMean() {
        XCTAssertEqual(Scoreboard.interquartileMean([8, 1, 7, 2, 6, 3, 5, 4]), 4.5)
        XCTAssertEqual(Scoreboard.interquartileMean([100, 1, 2, 3, 4, 5, -100]), 3)
        XCTAssertEqual(Scoreboard.interquartileMean([2, 4, 9]), 5)  // ⌊3/4⌋ = 0: the plain mean
        XCTAssertTrue(Scoreboard.interquartileMean([]).isNaN)
        // Robust to one outlier among 12 runs, where the mean is not.
        let runs = [Double](repeating: 1, count: 11) + [1_000]
        XCTAssertEqual(Scoreboard.interquartileMean(runs), 1)
    }

    func testBootstrapIntervalIsDeterministicCoversTheIQMAndShrinksWithMoreSeeds() {
        var rng = Xoshiro256StarStar(seed: 9)
        func scenario(_ n: Int, _ mean: Double) -> [Double] { (0..<n).map { _ in mean + 0.3 * rng.normal() } }
        let few = [scenario(3, 0.8), scenario(3, 1.1), scenario(3, 0.5)]
        let a = Scoreboard.bootstrapInterval(few, seed: 1)
        let b = Scoreboard.bootstrapInterval(few, seed: 1)
        XCTAssertEqual(a.low, b.low)
        XCTAssertEqual(a.high, b.high)
        let iqm = Scoreboard.interquartileMean(few.flatMap { $0 })
        XCTAssertLessThan(a.low, iqm)
        XCTAssertGreaterThan(a.high, iqm)
        let many = [scenario(60, 0.8), scenario(60, 1.1), scenario(60, 0.5)]
        let c = Scoreboard.bootstrapInterval(many, seed: 1)
        XCTAssertLessThan(c.high - c.low, (a.high - a.low) / 2, "60 seeds give a much narrower interval than 3")
        // Identical runs: no spread to resample.
        let flat = Scoreboard.bootstrapInterval([[0.7, 0.7], [0.7, 0.7, 0.7]], seed: 3)
        XCTAssertEqual(flat.low, 0.7, accuracy: 1e-12)
        XCTAssertEqual(flat.high, 0.7, accuracy: 1e-12)
    }

    /// Stratified: a replicate keeps each scenario's number of runs, so a scenario with one run always contributes
    /// exactly that run.
    func testBootstrapKeepsEachScenariosRunCount() {
        let runs: [[Double]] = [[0], [10, 10, 10]]
        // Every replicate is {0, 10, 10, 10}: IQM over 4 values drops one at each end → mean(10, 10) = 10.
        let ci = Scoreboard.bootstrapInterval(runs, replicates: 200, seed: 2)
        XCTAssertEqual(ci.low, 10)
        XCTAssertEqual(ci.high, 10)
    }
}
