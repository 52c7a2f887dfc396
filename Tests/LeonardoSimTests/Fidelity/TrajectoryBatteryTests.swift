import Foundation
import XCTest

@testable import LeonardoSim

/// The realism battery's statistics on trajectories whose answers are known, the KS distance and the classifier
/// two-sample test on samples with a known answer.
final class TrajectoryBatteryTests: XCTestCase {
    func line(dx: Double, dy: Double, T: Int = 50) -> [Float] {
        (0..<T).flatMap { [Float(Double($0) * dx), Float(Double($0) * dy)] }
    }

    func value(_ name: String, _ stats: [Double]) -> Double { stats[TrajectoryBattery.names.firstIndex(of: name)!] }

    func testStraightLinesHaveTheirExactStatistics() {
        let diagonal = TrajectoryBattery.statistics(line(dx: 1, dy: 1)[...], length: 50)
        XCTAssertEqual(value("straightness", diagonal), 1, accuracy: 1e-9)
        XCTAssertEqual(value("slow_frame_share", diagonal), 0)
        XCTAssertEqual(value("largest_step_ratio", diagonal), 1, accuracy: 1e-9)
        XCTAssertEqual(value("gyration_anisotropy", diagonal), 1, accuracy: 1e-9)
        XCTAssertEqual(value("msd_exponent", diagonal), 2, accuracy: 1e-9)
        XCTAssertEqual(value("vacf_1", diagonal), 1, accuracy: 1e-9)
        // Paper normalisation: 49 unit steps on a 49 × 49 square, each of length √2/49.
        XCTAssertEqual(value("log_mean_step", diagonal), log(2.squareRoot() / 49), accuracy: 1e-9)
        let horizontal = TrajectoryBattery.statistics(line(dx: 1, dy: 0.2)[...], length: 50)
        XCTAssertEqual(value("x_range_longer", horizontal), 1)
        let vertical = TrajectoryBattery.statistics(line(dx: 0.2, dy: 1)[...], length: 50)
        XCTAssertEqual(value("x_range_longer", vertical), 0)
    }

    func testAQuarterTurnSwapsTheAxesAndKeepsTheRest() {
        var rng = Xoshiro256StarStar(seed: 3)
        var p = (0.0, 0.0)
        var r: [Float] = []
        for _ in 0..<200 {
            p = (p.0 + 1.7 * rng.normal(), p.1 + 0.6 * rng.normal())
            r += [Float(p.0), Float(p.1)]
        }
        let turned = stride(from: 0, to: r.count, by: 2).flatMap { [-r[$0 + 1], r[$0]] }
        let a = TrajectoryBattery.statistics(r[...], length: 200)
        let b = TrajectoryBattery.statistics(turned[...], length: 200)
        XCTAssertEqual(value("log_xy_step_std_ratio", a), -value("log_xy_step_std_ratio", b), accuracy: 1e-6)
        XCTAssertEqual(value("x_range_longer", a) + value("x_range_longer", b), 1)
        XCTAssertGreaterThan(value("log_xy_step_std_ratio", a), 0.8, "x steps 1.7/0.6 times the y steps")
        for name in [
            "straightness", "slow_frame_share", "step_kurtosis", "vacf_1", "msd_exponent", "gyration_anisotropy"
        ] {
            XCTAssertEqual(value(name, a), value(name, b), accuracy: 1e-5, name)
        }
    }

    func testBrownianMotionIsIsotropicMemorylessAndGaussian() {
        var rng = Xoshiro256StarStar(seed: 11)
        var set: [[Double]] = []
        for _ in 0..<1500 {
            var p = (0.0, 0.0)
            var r: [Float] = []
            for _ in 0..<200 {
                p = (p.0 + rng.normal(), p.1 + rng.normal())
                r += [Float(p.0), Float(p.1)]
            }
            set.append(TrajectoryBattery.statistics(r[...], length: 200))
        }
        func column(_ name: String) -> [Double] { set.map { value(name, $0) } }
        func mean(_ v: [Double]) -> Double { v.reduce(0, +) / Double(v.count) }
        let ratios = column("log_xy_step_std_ratio").map(exp).sorted()
        XCTAssertEqual(ratios[ratios.count / 2], 1, accuracy: 0.02)
        XCTAssertEqual(mean(column("x_range_longer")), 0.5, accuracy: 0.04)
        XCTAssertEqual(mean(column("xy_step_correlation")), 0, accuracy: 0.01)
        XCTAssertEqual(mean(column("vacf_1")), 0, accuracy: 0.01)
        XCTAssertEqual(mean(column("step_kurtosis")), 3, accuracy: 0.05, "Gaussian steps: kurtosis 3")
        XCTAssertEqual(mean(column("msd_exponent")), 1, accuracy: 0.05)
        // The share of steps below 0.3 × the mean: a Rayleigh law with mean σ√(π/2) gives 1 − exp(−0.0225π) ≈ 0.068.
        XCTAssertEqual(mean(column("slow_frame_share")), 1 - exp(-0.0225 * Double.pi), accuracy: 0.004)
    }

    func testKolmogorovSmirnovDistance() {
        XCTAssertEqual(TrajectoryBattery.ksDistance([1, 2, 3], [4, 5, 6]), 1)
        XCTAssertEqual(TrajectoryBattery.ksDistance([1, 2, 3, 4], [3, 4, 5, 6]), 0.5)
        XCTAssertEqual(TrajectoryBattery.ksDistance([1, 2, 3], [1, 2, 3]), 0)
        XCTAssertEqual(TrajectoryBattery.ksDistance([0, 0, 1, 1], [0, 1]), 0, "ties")
        XCTAssertEqual(TrajectoryBattery.ksDistance([0, 0, 0, 1], [0, 1]), 0.25)
    }

    func testTwoSampleTestSeparatesShiftedSamplesAndNotEqualOnes() {
        var rng = Xoshiro256StarStar(seed: 5)
        func sample(_ n: Int, shift: Double) -> [[Double]] {
            (0..<n).map { _ in [rng.normal(), rng.normal() + shift, rng.normal()] }
        }
        let shifted = LogisticTwoSampleTest(fitting: sample(400, shift: 0), against: sample(400, shift: 2))
        let (accuracy, n) = shifted.accuracy(sample(400, shift: 0), sample(400, shift: 2))
        XCTAssertEqual(n, 800)
        // The Bayes accuracy for unit Gaussians 2 apart is Φ(1) = 0.841.
        XCTAssertEqual(accuracy, 0.841, accuracy: 0.04)
        XCTAssertGreaterThan(abs(shifted.weights[1]), 5 * max(abs(shifted.weights[0]), abs(shifted.weights[2])))
        let same = LogisticTwoSampleTest(fitting: sample(400, shift: 0), against: sample(400, shift: 0))
        XCTAssertEqual(same.accuracy(sample(400, shift: 0), sample(400, shift: 0)).accuracy, 0.5, accuracy: 0.05)
        let (low, high) = LogisticTwoSampleTest.wilsonInterval(0.5, 100)
        XCTAssertEqual(low, 0.4038, accuracy: 1e-3)
        XCTAssertEqual(high, 0.5962, accuracy: 1e-3)
    }

    /// A set that always moves further along x becomes isotropic in law under uniformly drawn symmetries of the
    /// square, and each trajectory stays paper-normalised (per-axis minimum 0, largest range 1).
    func testRandomSymmetriesMakeAnAnisotropicSetIsotropic() {
        var rng = Xoshiro256StarStar(seed: 21)
        let (n, T) = (4000, 50)
        var r: [Float] = []
        for _ in 0..<n {
            var p = (0.0, 0.0)
            var one: [Float] = []
            for _ in 0..<T {
                p = (p.0 + 2 * rng.normal(), p.1 + 0.5 * rng.normal())
                one += [Float(p.0), Float(p.1)]
            }
            let xs = stride(from: 0, to: one.count, by: 2).map { one[$0] }
            let ys = stride(from: 1, to: one.count, by: 2).map { one[$0] }
            let scale = max(xs.max()! - xs.min()!, ys.max()! - ys.min()!)
            for t in 0..<T {
                one[2 * t] = (one[2 * t] - xs.min()!) / scale
                one[2 * t + 1] = (one[2 * t + 1] - ys.min()!) / scale
            }
            r += one
        }
        func share(_ r: [Float]) -> Double {
            (0..<n).map {
                value("x_range_longer", TrajectoryBattery.statistics(r[($0 * 2 * T)..<(($0 + 1) * 2 * T)], length: T))
            }
            .reduce(0, +) / Double(n)
        }
        XCTAssertGreaterThan(share(r), 0.95)
        var symmetric = r
        var draws = Xoshiro256StarStar(seed: 4)
        TrajectorySet.applyRandomSymmetries(&symmetric, count: n, length: T, rng: &draws)
        XCTAssertEqual(share(symmetric), 0.5, accuracy: 0.03)
        for i in [0, 17, 3999] {
            let one = Array(symmetric[(i * 2 * T)..<((i + 1) * 2 * T)])
            let xs = stride(from: 0, to: one.count, by: 2).map { one[$0] }
            let ys = stride(from: 1, to: one.count, by: 2).map { one[$0] }
            XCTAssertEqual(xs.min()!, 0)
            XCTAssertEqual(ys.min()!, 0)
            XCTAssertEqual(max(xs.max()!, ys.max()!), 1, accuracy: 1e-6)
        }
    }
}
