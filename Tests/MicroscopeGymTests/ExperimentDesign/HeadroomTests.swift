import Foundation
import XCTest
@testable import LeonardoSim
@testable import MicroscopeGym

final class HeadroomTests: XCTestCase {
    /// A 1 × 3 grid over 4 episodes whose returns are written out, so every row can be checked by hand.
    func table(complete: Bool = true) -> SweepTable {
        let returns: [[Double]] = [[10, 2, 6, 4], [8, 8, 1, 3], [1, 1, 9, 1]]
        var t = SweepTable(
            environment: "Test-v0", doseRates: [10], frameRates: [3.125, 6.25, 12.5], episodes: 4, seed: 7,
            results: [:])
        for (i, r) in returns.enumerated() where complete || i < 2 {
            t.results[i] = SettingResult(
                doseRate: 10, frameRate: t.frameRates[i], episodeReturn: Estimate(r), signal: Estimate(r),
                damage: Estimate(r), length: Estimate(r), destroyedFraction: 0, episodeReturns: r)
        }
        return t
    }

    func testRowsAgainstHandValues() throws {
        // Means: 5.5, 5, 3 → best fixed is 3.125 frames/s. Per-episode maxima: 10, 8, 9, 4 (mean 7.75).
        let h = try Headroom(sweep: table(), policies: [("adaptive", [10, 8, 6, 4])])
        XCTAssertEqual(h.bestSetting.frameRate, 3.125)
        XCTAssertEqual(h.bestFixed.episodeReturn.mean, 5.5)
        XCTAssertEqual(h.bestFixed.gainOverBestFixed.mean, 0)
        XCTAssertEqual(h.hindsight.episodeReturn.mean, 7.75)
        // Paired gains 0, 6, 3, 0: mean 2.25, SD √(((−2.25)² + 3.75² + 0.75² + (−2.25)²)/3) = √8.25.
        XCTAssertEqual(h.hindsight.gainOverBestFixed.mean, 2.25)
        XCTAssertEqual(h.hindsight.gainOverBestFixed.std, 8.25.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(h.hindsight.relativeGain, 2.25 / 5.5, accuracy: 1e-12)
        XCTAssertEqual(h.hindsight.shareOfHindsightGain!, 1, accuracy: 1e-12)
        // The policy gains 0, 6, 0, 0 → 1.5, two thirds of the hindsight gain.
        let p = h.policies[0]
        XCTAssertEqual(p.gainOverBestFixed.mean, 1.5)
        XCTAssertEqual(p.shareOfHindsightGain!, 1.5 / 2.25, accuracy: 1e-12)
        XCTAssertTrue(h.markdown.contains("| adaptive | 7.00 ± "), h.markdown)
    }

    func testRefusesIncompleteInputs() {
        XCTAssertThrowsError(try Headroom(sweep: table(complete: false), policies: [])) { error in
            XCTAssertTrue("\(error)".contains("2 of 3 settings"), "\(error)")
        }
        XCTAssertThrowsError(try Headroom(sweep: table(), policies: [("short", [1, 2])])) { error in
            XCTAssertTrue("\(error)".contains("'short' has 2 episode returns, the sweep 4"), "\(error)")
        }
    }
}
