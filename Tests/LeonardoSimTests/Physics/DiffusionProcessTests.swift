import Foundation
import XCTest
@testable import LeonardoSim

/// Statistical validation of the classical generators (fixed seeds; tolerances a wrong model fails).
final class DiffusionProcessTests: XCTestCase {
    /// Ensemble MSD from the origin of `n` trajectories made by `make`, and its log-log slope over t in `fit`.
    func ensembleExponent(
        _ n: Int, length T: Int, seed: UInt64, fit: ClosedRange<Int>,
        _ make: (inout Xoshiro256StarStar) -> [Double]
    ) -> Double {
        var rng = Xoshiro256StarStar(seed: seed)
        var msd = [Double](repeating: 0, count: T)
        for _ in 0..<n {
            let r = make(&rng)
            for t in 1..<T { msd[t] += r[2 * t] * r[2 * t] + r[2 * t + 1] * r[2 * t + 1] }
        }
        // Log-spaced lags so that late times do not dominate the fit.
        var lags: [Int] = []
        var l = Double(fit.lowerBound)
        while Int(l) <= fit.upperBound {
            if lags.last != Int(l) { lags.append(Int(l)) }
            l *= 1.15
        }
        var sx = 0.0
        var sy = 0.0
        var sxx = 0.0
        var sxy = 0.0
        for t in lags {
            let x = log(Double(t))
            let y = log(msd[t] / Double(n))
            sx += x
            sy += y
            sxx += x * x
            sxy += x * y
        }
        let m = Double(lags.count)
        return (m * sxy - sx * sy) / (m * sxx - sx * sx)
    }

    func testFFTMatchesDirectDFT() {
        var rng = Xoshiro256StarStar(seed: 5)
        let n = 16
        let xr = (0..<n).map { _ in rng.normal() }
        let xi = (0..<n).map { _ in rng.normal() }
        var re = xr
        var im = xi
        FFT.forward(&re, &im)
        for k in 0..<n {
            var sr = 0.0
            var si = 0.0
            for j in 0..<n {
                let a = -2 * Double.pi * Double(j * k) / Double(n)
                sr += xr[j] * cos(a) - xi[j] * sin(a)
                si += xr[j] * sin(a) + xi[j] * cos(a)
            }
            XCTAssertEqual(re[k], sr, accuracy: 1e-10)
            XCTAssertEqual(im[k], si, accuracy: 1e-10)
        }
    }

    func testBrownianStepsAreGaussianWithUnitVariance() {
        var rng = Xoshiro256StarStar(seed: 11)
        var steps: [Double] = []
        for _ in 0..<200 {
            let r = DiffusionProcess.brownian(length: 200, using: &rng)
            for t in 1..<200 {
                steps.append(r[2 * t] - r[2 * t - 2])
                steps.append(r[2 * t + 1] - r[2 * t - 1])
            }
        }
        let n = Double(steps.count)
        let mean = steps.reduce(0, +) / n
        let variance = steps.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / n
        let kurtosis = steps.map { pow($0 - mean, 4) }.reduce(0, +) / n / (variance * variance)
        XCTAssertEqual(mean, 0, accuracy: 0.01)
        XCTAssertEqual(variance, 1, accuracy: 0.02)
        XCTAssertEqual(kurtosis, 3, accuracy: 0.08)
        // Gaussian: 68.27 % within one standard deviation, 95.45 % within two.
        XCTAssertEqual(Double(steps.filter { abs($0) < 1 }.count) / n, 0.6827, accuracy: 0.006)
        XCTAssertEqual(Double(steps.filter { abs($0) < 2 }.count) / n, 0.9545, accuracy: 0.004)
    }

    /// Empirical autocovariance of the increments of FBM against ½(|k+1|^{2H} − 2|k|^{2H} + |k−1|^{2H}).
    func checkFGNCovariance(hurst H: Double, method: DiffusionProcess.FGNMethod, seed: UInt64) {
        var rng = Xoshiro256StarStar(seed: seed)
        let n = 100
        let samples = 600
        var cov = [Double](repeating: 0, count: 6)
        for _ in 0..<samples {
            let (x, y, used) = DiffusionProcess.fractionalGaussianNoise(hurst: H, count: n, method: method, using: &rng)
            XCTAssertEqual(used, method)
            for k in 0..<6 {
                for t in 0..<(n - k) { cov[k] += x[t] * x[t + k] + y[t] * y[t + k] }
            }
        }
        for k in 0..<6 {
            let empirical = cov[k] / Double(2 * samples * (n - k))
            let theory = DiffusionProcess.fgnAutocovariance(hurst: H, lag: k)
            XCTAssertEqual(empirical, theory, accuracy: 0.025, "H=\(H) lag \(k) via \(method)")
        }
    }

    func testFBMIncrementsHaveTheTheoreticalAutocovariance() {
        checkFGNCovariance(hurst: 0.2, method: .daviesHarte, seed: 1)
        checkFGNCovariance(hurst: 0.5, method: .daviesHarte, seed: 2)
        checkFGNCovariance(hurst: 0.8, method: .daviesHarte, seed: 3)
        checkFGNCovariance(hurst: 0.2, method: .hosking, seed: 4)  // the fallback path
        checkFGNCovariance(hurst: 0.8, method: .hosking, seed: 5)
        // Cross-axis independence: x and y (real and imaginary parts) are uncorrelated.
        var rng = Xoshiro256StarStar(seed: 9)
        var cross = 0.0
        var count = 0.0
        for _ in 0..<300 {
            let (x, y, _) = DiffusionProcess.fractionalGaussianNoise(hurst: 0.7, count: 100, using: &rng)
            for t in 0..<100 {
                cross += x[t] * y[t]
                count += 1
            }
        }
        XCTAssertEqual(cross / count, 0, accuracy: 0.02)
    }

    func testFBMExponentIsRecovered() {
        for (i, alpha) in [0.2, 0.5, 0.8, 1.0].enumerated() {
            let est = ensembleExponent(300, length: 200, seed: UInt64(10 + i), fit: 1...199) {
                DiffusionProcess.fractionalBrownian(alpha: alpha, length: 200, using: &$0)
            }
            XCTAssertEqual(est, alpha, accuracy: 0.1, "FBM α = \(alpha)")
        }
    }

    func testSBMExponentIsRecovered() {
        for (i, alpha) in [0.2, 0.5, 0.8, 1.0].enumerated() {
            let est = ensembleExponent(300, length: 200, seed: UInt64(20 + i), fit: 1...199) {
                DiffusionProcess.scaledBrownian(alpha: alpha, length: 200, using: &$0)
            }
            XCTAssertEqual(est, alpha, accuracy: 0.1, "SBM α = \(alpha)")
        }
    }

    func testCTRWExponentIsRecovered() {
        for (i, alpha) in [0.2, 0.4, 0.6, 0.8, 1.0].enumerated() {
            let est = ensembleExponent(2000, length: 200, seed: UInt64(30 + i), fit: 1...199) {
                DiffusionProcess.ctrw(alpha: alpha, length: 200, using: &$0)
            }
            XCTAssertEqual(est, alpha, accuracy: 0.1, "CTRW α = \(alpha)")
        }
    }

    func testATTMAndLevyWalkExponents() {
        // ATTM reaches its t^α law only asymptotically (Massignan et al. 2014); near α = 1 (γ ≈ σ) the
        // approach is slowest, hence the wider tolerance and the ordering check.
        var previous = 0.0
        for (i, alpha) in [0.3, 0.6, 0.9].enumerated() {
            let est = ensembleExponent(2000, length: 200, seed: UInt64(40 + i), fit: 10...199) {
                DiffusionProcess.attm(alpha: alpha, length: 200, using: &$0)
            }
            XCTAssertGreaterThan(est, previous + 0.05, "ATTM exponent must grow with α")
            XCTAssertLessThan(est, 1.0, "ATTM with α = \(alpha) must be subdiffusive")
            XCTAssertEqual(est, alpha, accuracy: 0.15, "ATTM α = \(alpha)")
            previous = est
        }
        for (i, alpha) in [1.3, 1.7].enumerated() {
            let est = ensembleExponent(1000, length: 200, seed: UInt64(50 + i), fit: 10...199) {
                DiffusionProcess.levyWalk(alpha: alpha, length: 200, using: &$0)
            }
            XCTAssertEqual(est, alpha, accuracy: 0.15, "LW α = \(alpha)")
        }
    }

    func testDatasetIsDeterministicPerIndexAndLabelled() throws {
        let a = try TrajectoryDataset.generate(kind: .mixed, count: 40, length: 50, seed: 7)
        let b = try TrajectoryDataset.generate(kind: .mixed, count: 40, length: 50, seed: 7)
        XCTAssertEqual(a.trajectories, b.trajectories)
        XCTAssertEqual(a.labels, b.labels)
        XCTAssertEqual(a.alpha?.map { $0.bitPattern }, b.alpha?.map { $0.bitPattern })
        // Trajectory i depends only on (seed, i), not on the set size or the thread split.
        let c = try TrajectoryDataset.generate(kind: .mixed, count: 13, length: 50, seed: 7)
        XCTAssertEqual(Array(a.trajectories[0..<(13 * 100)]), c.trajectories)
        let d = try TrajectoryDataset.generate(kind: .mixed, count: 40, length: 50, seed: 8)
        XCTAssertNotEqual(a.trajectories, d.trajectories)
        XCTAssertEqual(a.labelNames, MotionClass.names)
        let labels = try XCTUnwrap(a.labels)
        let alpha = try XCTUnwrap(a.alpha)
        let dose = try XCTUnwrap(a.dose)
        XCTAssertEqual(Set(labels).count, 7, "40 draws over 7 classes should hit every class with this seed")
        for i in 0..<40 {
            let cls = MotionClass.allCases[Int(labels[i])]
            XCTAssertEqual(cls == .lptem, dose[i].isFinite)
            XCTAssertEqual(cls == .lptem, alpha[i].isNaN)
            if cls == .lw { XCTAssertTrue(alpha[i] > 1 && alpha[i] < 2) }
            if [.fbm, .ctrw, .attm, .sbm].contains(cls) { XCTAssertTrue(alpha[i] >= 0.1 && alpha[i] <= 1) }
            if cls == .lptem { XCTAssertTrue(dose[i] >= 1 && dose[i] <= 100) }
        }
        // HDF5 round trip of the full layout.
        let path = temporaryPath("mixed.h5")
        try a.write(path)
        let back = try TrajectorySet.read(path)
        XCTAssertEqual(back.trajectories, a.trajectories)
        XCTAssertEqual(back.labels, a.labels)
        XCTAssertEqual(back.labelNames, a.labelNames)
        XCTAssertEqual(back.attributes["generator"], "microscopegym.mixed/1")
        XCTAssertEqual(back.dose?.map { $0.isNaN }, a.dose?.map { $0.isNaN })
    }

    func testGoldenTrace() throws {
        // Pins the generators' output: a change here changes every data set made from a seed.
        let set = try TrajectoryDataset.generate(kind: .lptem, count: 2, length: 20, seed: 2026, doseRange: 10...10)
        let fbm = try TrajectoryDataset.generate(kind: .fbm, count: 1, length: 20, seed: 2026)
        XCTAssertEqual(set.trajectories[38], GoldenValues.lptem38)
        XCTAssertEqual(set.trajectories[79], GoldenValues.lptem79)
        XCTAssertEqual(fbm.trajectories[39], GoldenValues.fbm39)
    }

    func testBadArgumentsAreRejected() {
        XCTAssertThrowsError(try TrajectoryDataset.generate(kind: .bm, count: 0, length: 20, seed: 0))
        XCTAssertThrowsError(try TrajectoryDataset.generate(kind: .bm, count: 2, length: 2, seed: 0))
        var model = LPTEMModel()
        model.trapStiffness = 1.5
        XCTAssertThrowsError(try model.validate()) { error in
            XCTAssertTrue("\(error)".contains("trapStiffness"), "\(error)")
        }
    }
}

enum GoldenValues {
    static let lptem38: Float = -33.221844
    static let lptem79: Float = -1.104593
    static let fbm39: Float = 7.4507565
}
