import Foundation
import XCTest
@testable import LeonardoSim

/// The repository's copy of the experimental trajectories (data/aunr_lptem_300.h5, MIT licence).
func experimentalDataPath() -> String { repositoryRoot().appendingPathComponent("data/aunr_lptem_300.h5").path }

final class LPTEMModelTests: XCTestCase {
    /// Per-trajectory fraction of steps longer than `threshold` nm, and VACF at lag 1.
    func perTrajectory(_ set: TrajectorySet, threshold: Double) -> (large: [Double], vacf1: [Double]) {
        var large: [Double] = []
        var vacf1: [Double] = []
        let T = set.length
        set.trajectories.withUnsafeBufferPointer { p in
            for i in 0..<set.count {
                let r = p.baseAddress! + i * T * 2
                var n = 0
                for t in 0..<(T - 1) {
                    let dx = Double(r[2 * t + 2] - r[2 * t])
                    let dy = Double(r[2 * t + 3] - r[2 * t + 1])
                    if (dx * dx + dy * dy).squareRoot() > threshold { n += 1 }
                }
                large.append(Double(n) / Double(T - 1))
                vacf1.append(TrajectoryStatistics(trajectory: r, length: T).velocityAutocorrelation[0])
            }
        }
        return (large, vacf1)
    }

    /// Welch's t statistic of mean(b) − mean(a).
    func welch(_ a: [Double], _ b: [Double]) -> Double {
        func mv(_ x: [Double]) -> (Double, Double) {
            let m = x.reduce(0, +) / Double(x.count)
            return (m, x.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(x.count - 1))
        }
        let (ma, va) = mv(a)
        let (mb, vb) = mv(b)
        return (mb - ma) / (va / Double(a.count) + vb / Double(b.count)).squareRoot()
    }

    func testDoseChangesTheDynamicsMonotonically() throws {
        var previous: (large: Double, vacf1: Double, msd: Double)? = nil
        var sets: [[Double]] = []
        var vacfs: [[Double]] = []
        for (i, dose) in [2.0, 10.0, 50.0].enumerated() {
            let set = try TrajectoryDataset.generate(
                kind: .lptem, count: 300, length: 200, seed: UInt64(100 + i),
                doseRange: dose...dose)
            XCTAssertTrue(set.dose!.allSatisfy { abs($0 - Float(dose)) < 1e-3 })
            let (large, vacf1) = perTrajectory(set, threshold: 12)
            let summary = MotionSummary(set)
            let now = (large.reduce(0, +) / 300, vacf1.reduce(0, +) / 300, summary.msdExponent)
            if let p = previous {
                XCTAssertGreaterThan(now.0, p.large, "large-step fraction must grow with dose")
                XCTAssertGreaterThan(now.1, p.vacf1, "VACF(1) must rise towards 0 (less caging) with dose")
                XCTAssertGreaterThan(now.2, p.msd, "MSD exponent must grow with dose")
            }
            previous = now
            sets.append(large)
            vacfs.append(vacf1)
        }
        // Low versus high dose: significant by Welch's t test (|t| > 5 is p < 1e-6).
        XCTAssertGreaterThan(welch(sets[0], sets[2]), 5)
        XCTAssertGreaterThan(welch(vacfs[0], vacfs[2]), 5)
    }

    func testReferenceConditionMatchesTheExperimentalTrajectories() throws {
        let real = MotionSummary(try TrajectorySet.read(experimentalDataPath()))
        let model = LPTEMModel()
        let sim = MotionSummary(
            try TrajectoryDataset.generate(
                kind: .lptem, count: 600, length: 300, seed: 3,
                doseRange: model.referenceDoseRate...model.referenceDoseRate))
        XCTAssertEqual(sim.meanStep, real.meanStep, accuracy: 0.15 * real.meanStep)
        XCTAssertEqual(sim.medianStep, real.medianStep, accuracy: 0.15 * real.medianStep)
        XCTAssertEqual(sim.stepStd, real.stepStd, accuracy: 0.25 * real.stepStd)
        XCTAssertEqual(sim.tailFraction, real.tailFraction, accuracy: 0.03)
        XCTAssertEqual(sim.vacf[0], real.vacf[0], accuracy: 0.05)
        for lag in 1..<5 { XCTAssertEqual(sim.vacf[lag], real.vacf[lag], accuracy: 0.03, "VACF lag \(lag + 1)") }
        XCTAssertEqual(sim.msdExponent, real.msdExponent, accuracy: 0.1)
        XCTAssertGreaterThan(sim.stepSkewness, 2, "step sizes are heavy-tailed like the experiment's")
    }
}
