import Foundation
import XCTest
@testable import LeonardoSim

/// The particle split of the experimental trajectories, windows and symmetry images.
final class ParticleSplitTests: XCTestCase {
    func testShippedSplitKeepsEveryParticleInOnePart() throws {
        let path = repositoryRoot().appendingPathComponent("data/aunr_lptem_300-split.json").path
        let split = try ParticleSplit.read(path)  // validates: disjoint, in range, covering
        XCTAssertEqual(split.particles, 300)
        XCTAssertEqual([split.train.count, split.validation.count, split.test.count], [210, 45, 45])
        XCTAssertTrue(Set(split.train).isDisjoint(with: split.test))
        XCTAssertTrue(Set(split.validation).isDisjoint(with: split.test))
        XCTAssertTrue(Set(split.train).isDisjoint(with: split.validation))
        // The file is the seeded split it says it is: anyone can redraw it.
        XCTAssertEqual(
            try ParticleSplit.make(particles: 300, validationCount: 45, testCount: 45, seed: split.seed), split)
    }

    func testInvalidSplitsAreRefused() throws {
        var split = try ParticleSplit.make(particles: 10, validationCount: 2, testCount: 2, seed: 1)
        split.test.append(split.train[0])
        XCTAssertThrowsError(try split.validate()) { XCTAssertTrue("\($0)".contains("in two parts"), "\($0)") }
        var missing = try ParticleSplit.make(particles: 10, validationCount: 2, testCount: 2, seed: 1)
        missing.train.removeLast()
        XCTAssertThrowsError(try missing.validate()) { XCTAssertTrue("\($0)".contains("in no part"), "\($0)") }
        XCTAssertThrowsError(try ParticleSplit.make(particles: 4, validationCount: 2, testCount: 2, seed: 1))
    }

    func testWindowsAndSymmetryImages() throws {
        // Two trajectories of 10 frames, x = 100·i + t, y = −t²/3 (no symmetry of the square maps one onto itself).
        var data: [Float] = []
        for i in 0..<2 { for t in 0..<10 { data += [Float(100 * i + t), -Float(t * t) / 3] } }
        let set = TrajectorySet(trajectories: data, count: 2, length: 10, dose: [1, 2])
        let windows = try set.windows(4, stride: 3)  // starts 0, 3, 6
        XCTAssertEqual(windows.count, 6)
        XCTAssertEqual(windows.dose, [1, 1, 1, 2, 2, 2])
        XCTAssertEqual(Array(windows.trajectories[(2 * 8)..<(2 * 8 + 2)]), [6, -12], "third window starts at frame 6")
        XCTAssertThrowsError(try set.windows(11, stride: 1))
        let images = set.symmetryAugmented()
        XCTAssertEqual(images.count, 16)
        XCTAssertEqual(Array(images.trajectories[0..<20]), Array(data[0..<20]), "image 0 is the original")
        // Every image has the same step lengths, and the normalised images are images of the normalised original.
        let original = TrajectoryStatistics(
            trajectory: TrajectoryNormalization.normalize(Array(data[0..<20]), length: 10).normalized)
        for k in 0..<8 {
            let image = Array(images.trajectories[(k * 20)..<((k + 1) * 20)])
            let s = TrajectoryStatistics(trajectory: TrajectoryNormalization.normalize(image, length: 10).normalized)
            XCTAssertEqual(s.meanStep, original.meanStep, accuracy: 1e-6, "image \(k)")
        }
        let distinct = Set((0..<8).map { k in Array(images.trajectories[(k * 20)..<((k + 1) * 20)]) })
        XCTAssertEqual(distinct.count, 8, "eight different images")
    }
}
