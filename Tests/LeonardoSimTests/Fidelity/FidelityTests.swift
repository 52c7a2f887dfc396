import Foundation
import XCTest
@testable import LeonardoSim

final class FidelityTests: XCTestCase {
    func testMatrixSquareRoot() throws {
        var rng = Xoshiro256StarStar(seed: 1)
        let n = 6
        let b = (0..<(n * n)).map { _ in rng.normal() }
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0..<n { for k in 0..<n { a[i * n + j] += b[i * n + k] * b[j * n + k] } }
            a[i * n + i] += 0.5
        }
        let s = try SymmetricEigen.sqrtPSD(a, n: n)
        for i in 0..<n {
            for j in 0..<n {
                var v = 0.0
                for k in 0..<n { v += s[i * n + k] * s[k * n + j] }
                XCTAssertEqual(v, a[i * n + j], accuracy: 1e-9)
                XCTAssertEqual(s[i * n + j], s[j * n + i], accuracy: 1e-12)
            }
        }
    }

    func testFrechetDistanceKnownAnswers() throws {
        // 1-D: (μ₁ − μ₂)² + (σ₁ − σ₂)².
        XCTAssertEqual(
            try FrechetMotionDistance.squaredDistance(mean1: [1], cov1: [4], mean2: [3], cov2: [9]), 4 + 1,
            accuracy: 1e-12)
        // Diagonal: Σ (√aᵢ − √bᵢ)² + ‖Δμ‖².
        let d1 = [1.0, 4, 9]
        let d2 = [4.0, 4, 1]
        func diag(_ v: [Double]) -> [Double] {
            var m = [Double](repeating: 0, count: 9)
            for i in 0..<3 { m[i * 4] = v[i] }
            return m
        }
        let expected =
            zip(d1, d2).map { ($0.squareRoot() - $1.squareRoot()) * ($0.squareRoot() - $1.squareRoot()) }.reduce(0, +)
            + 1
        XCTAssertEqual(
            try FrechetMotionDistance.squaredDistance(
                mean1: [0, 0, 0], cov1: diag(d1), mean2: [1, 0, 0], cov2: diag(d2)), expected, accuracy: 1e-10)
        // Non-commuting 2×2: Tr((Σ₁^½Σ₂Σ₁^½)^½) = √(tr(Σ₁Σ₂) + 2√(det Σ₁ det Σ₂)) (closed form for 2×2 PSD).
        let s1 = [2.0, 0.3, 0.3, 1.0]
        let th = 0.7
        let c = cos(th)
        let s = sin(th)
        let l1 = 3.0
        let l2 = 0.5
        let s2 = [c * c * l1 + s * s * l2, c * s * (l1 - l2), c * s * (l1 - l2), s * s * l1 + c * c * l2]
        let trProd = s1[0] * s2[0] + s1[1] * s2[2] + s1[2] * s2[1] + s1[3] * s2[3]
        let det1 = s1[0] * s1[3] - s1[1] * s1[2]
        let det2 = s2[0] * s2[3] - s2[1] * s2[2]
        let closed = (s1[0] + s1[3]) + (s2[0] + s2[3]) - 2 * (trProd + 2 * (det1 * det2).squareRoot()).squareRoot()
        XCTAssertEqual(
            try FrechetMotionDistance.squaredDistance(mean1: [0, 0], cov1: s1, mean2: [0, 0], cov2: s2), closed,
            accuracy: 1e-10)
        // Symmetric in its arguments, zero for identical statistics.
        XCTAssertEqual(
            try FrechetMotionDistance.squaredDistance(mean1: [0, 0], cov1: s2, mean2: [0, 0], cov2: s1), closed,
            accuracy: 1e-10)
        XCTAssertEqual(
            try FrechetMotionDistance.squaredDistance(mean1: [1, 2], cov1: s1, mean2: [1, 2], cov2: s1), 0,
            accuracy: 1e-10)
    }

    func testFrechetDistanceFromSamples() throws {
        var rng = Xoshiro256StarStar(seed: 2)
        let n = 20000
        let d = 3  // the squared mean shift has standard error ≈ 4·√(2/n) ≈ 0.04
        let a = (0..<(n * d)).map { _ in Float(rng.normal()) }
        let b = (0..<(n * d)).map { _ in Float(rng.normal()) }
        let shifted = (0..<(n * d)).map { i in Float(rng.normal()) + (i % d == 0 ? 2 : 0) }
        XCTAssertLessThan(try FrechetMotionDistance.squaredDistance(a, b, dimension: d), 0.02)
        XCTAssertEqual(try FrechetMotionDistance.squaredDistance(a, shifted, dimension: d), 4, accuracy: 0.15)
    }

    func testClassifierLearnsAndRoundTrips() throws {
        var config = MotionClassifier.Config()
        config.length = 32
        config.channels = 8
        config.embedding = 8
        let train = try TrajectoryDataset.generate(kind: .mixed, count: 700, length: 32, seed: 1)
        let test = try TrajectoryDataset.generate(kind: .mixed, count: 300, length: 32, seed: 2)
        let cls = MotionClassifier(config: config, seed: 3)
        var losses: [Double] = []
        try cls.train(train, epochs: 8, batchSize: 32, learningRate: 3e-3, seed: 4) { _, _, l in losses.append(l) }
        XCTAssertLessThan(losses.suffix(40).reduce(0, +) / 40, losses.prefix(5).reduce(0, +) / 5 * 0.85)
        let (probs, emb) = cls.predict(test.trajectories)
        let predicted = (0..<300).map { i in (0..<7).max { probs[i * 7 + $0] < probs[i * 7 + $1] }! }
        let report = ClassificationReport(truth: test.labels!, predicted: predicted, classes: MotionClass.names)
        XCTAssertGreaterThan(report.accuracy, 0.35, "well above chance (1/7)")
        XCTAssertGreaterThan(report.f1[5], 0.8, "Lévy walks are easy to tell apart")
        let path = temporaryPath("classifier.h5")
        try cls.save(path)
        let back = try MotionClassifier.load(path)
        let (p2, e2) = back.predict(test.trajectories)
        XCTAssertEqual(p2.map(\.bitPattern), probs.map(\.bitPattern))
        XCTAssertEqual(e2.map(\.bitPattern), emb.map(\.bitPattern))
        try Data("junk".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try MotionClassifier.load(path))
        XCTAssertThrowsError(try LeonardoCheckpoint.load(path))
    }

    func testClassificationReport() {
        let r = ClassificationReport(truth: [0, 0, 1, 1, 1, 2], predicted: [0, 1, 1, 1, 2, 2], classes: ["a", "b", "c"])
        XCTAssertEqual(r.accuracy, 4.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(r.precision[1], 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(r.recall[1], 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(r.f1[2], 2 * 0.5 * 1 / 1.5, accuracy: 1e-12)
    }
}
