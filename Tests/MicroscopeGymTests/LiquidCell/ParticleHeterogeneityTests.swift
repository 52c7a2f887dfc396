import Foundation
import XCTest
@testable import LeonardoSim
@testable import MicroscopeGym

/// Per-particle beam sensitivity (`damage.sensitivitySpread`) and contrast (`noise.contrastSpread`).
final class ParticleHeterogeneityTests: XCTestCase {
    /// Mean and sample standard deviation.
    private func meanAndSD(_ v: [Double]) -> (Double, Double) {
        let m = v.reduce(0, +) / Double(v.count)
        let s = (v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count - 1)).squareRoot()
        return (m, s)
    }

    func testCriticalDoseIsLogNormalPerParticleAndSetsTheDamage() throws {
        var env = TestCell.make { $0.damage.sensitivitySpread = 0.8 }
        var logs: [Double] = []
        for e in 0..<600 {
            _ = try env.reset(seed: UInt64(100 + e))
            logs.append(Foundation.log(env.criticalDose / env.spec.damage.criticalDose))
        }
        // −log(factor) = σ|N|: half-normal, mean σ√(2/π) = 0.638 and SD σ√(1 − 2/π) = 0.482 (standard errors of
        // 600 draws: 0.020 and about 0.017); never above the intact particle's critical dose.
        XCTAssertLessThanOrEqual(logs.max()!, 0)
        let (m, s) = meanAndSD(logs)
        XCTAssertEqual(-m, 0.8 * (2 / Double.pi).squareRoot(), accuracy: 0.06)
        XCTAssertEqual(s, 0.8 * (1 - 2 / Double.pi).squareRoot(), accuracy: 0.05)
        // The damage follows the Weibull law with this particle's critical dose, not the spec's.
        _ = try env.reset(seed: 5)
        let s1 = try env.step(doseRate: 20, frameRate: 12.5)
        let expected = 1 - Foundation.exp(-pow(env.effectiveDose / env.criticalDose, env.spec.damage.shape))
        XCTAssertEqual(s1.info["damage"]!, expected, accuracy: 1e-12)
        XCTAssertNotEqual(env.criticalDose, env.spec.damage.criticalDose)
        // The observation does not leak it: cumulative dose is normalised by the spec's critical dose.
        XCTAssertEqual(
            Double(s1.observation["instrument"]![2]), env.cumulativeDose / env.spec.damage.criticalDose,
            accuracy: 1e-6)
    }

    func testSensitiveParticlesDieSooner() throws {
        // Same seeds, same actions: with the spread, particles die at the intact particle's step or sooner.
        func lengths(_ spread: Double?) throws -> [Int] {
            var env = TestCell.make { $0.damage.sensitivitySpread = spread }
            return try (0..<16).map { e in
                _ = try env.reset(seed: UInt64(900 + e))
                var n = 0
                while true {
                    n += 1
                    if try env.step(doseRate: 50, frameRate: 25).done { return n }
                }
            }
        }
        let fixed = try lengths(nil)
        XCTAssertEqual(Set(fixed).count, 1, "every particle of the spec's critical dose dies at the same step")
        let spread = try lengths(1.0)
        XCTAssertLessThan(spread.min()!, fixed[0])
        XCTAssertLessThanOrEqual(spread.max()!, fixed[0])
        XCTAssertGreaterThan(Set(spread).count, 2)
    }

    func testContrastScalesPrecisionAndDetection() throws {
        var env = TestCell.make { $0.noise.contrastSpread = 0.5 }
        var logs: [Double] = []
        for e in 0..<600 {
            _ = try env.reset(seed: UInt64(3000 + e))
            logs.append(Foundation.log(env.contrast))
        }
        XCTAssertLessThanOrEqual(logs.max()!, 0, "κ ≤ 1: the spec's constants are the thinnest liquid's")
        let (m, s) = meanAndSD(logs)
        XCTAssertEqual(-m, 0.5 * (2 / Double.pi).squareRoot(), accuracy: 0.04)
        XCTAssertEqual(s, 0.5 * (1 - 2 / Double.pi).squareRoot(), accuracy: 0.03)
        // σ = √((c/κ)²/N + floor²), against the formula written out.
        let kappa = env.contrast
        let n = env.electronsPerFrame(doseRate: 10, frameRate: 12.5)
        let c = env.spec.noise.precisionConstant
        let floor = env.spec.noise.precisionFloor
        XCTAssertEqual(
            env.localizationPrecision(electronsPerFrame: n), (c * c / (kappa * kappa * n) + floor * floor).squareRoot(),
            accuracy: 1e-9)
        // Detection: the detected fraction over many frames matches 1 − exp(−N κ² / N_det) within binomial error.
        var hits = 0.0
        var frames = 0.0
        _ = try env.reset(seed: 77)
        let k2 = env.contrast * env.contrast
        let p =
            1
            - Foundation.exp(
                -env.electronsPerFrame(doseRate: 2, frameRate: 25) * k2 / env.spec.noise.detectionElectrons)
        for _ in 0..<60 {
            let s = try env.step(doseRate: 2, frameRate: 25)
            hits += s.info["detected_fraction"]! * Double(env.spec.segmentFrames)
            frames += Double(env.spec.segmentFrames)
            if s.done { break }
        }
        let se = (p * (1 - p) / frames).squareRoot()
        XCTAssertEqual(hits / frames, p, accuracy: 4 * se + 1e-9)
    }

    func testAbsentOrZeroSpreadsDrawNothing() throws {
        // A spread of 0 equals an absent field bit for bit: no extra draws shift the random stream.
        func trace(_ edit: @escaping (inout LiquidCellSpec) -> Void) throws -> [UInt64] {
            var env = TestCell.make("LiquidCell-v0", edit)
            _ = try env.reset(seed: 42)
            return try [3, 10, 17, 24].map { try env.step($0).reward.bitPattern }
        }
        let absent = try trace { _ in }
        XCTAssertEqual(
            try trace {
                $0.damage.sensitivitySpread = 0
                $0.noise.contrastSpread = 0
            }, absent)
        XCTAssertNotEqual(try trace { $0.damage.sensitivitySpread = 0.5 }, absent)
    }

    func testRevealingTheHiddenStateChangesNothingElse() throws {
        let plain = TestCell.make {
            $0.damage.sensitivitySpread = 1
            $0.noise.contrastSpread = 0.5
        }
        var a = plain
        var b = plain.revealingHiddenState()
        XCTAssertNil(a.observationSpace.spaces["privileged"])
        XCTAssertEqual(
            b.observationSpace.spaces["privileged"]?.low.count,
            LiquidCell.privilegedNames(latentDimension: 12).count)
        let (oa, _) = try a.reset(seed: 8)
        let (ob, _) = try b.reset(seed: 8)
        XCTAssertEqual(oa["features"], ob["features"])
        let hidden = try XCTUnwrap(ob["privileged"])
        XCTAssertTrue(b.observationSpace.spaces["privileged"]!.contains(hidden))
        XCTAssertEqual(Double(hidden[0]), Foundation.log(b.criticalDose / b.spec.damage.criticalDose), accuracy: 1e-6)
        XCTAssertEqual(Double(hidden[1]), Foundation.log(b.contrast), accuracy: 1e-6)
        XCTAssertLessThan(hidden[0], 0)
        for action in [3, 17, 24] {
            let sa = try a.step(action)
            let sb = try b.step(action)
            XCTAssertEqual(sa.reward.bitPattern, sb.reward.bitPattern)
            XCTAssertEqual(sa.observation["segment"]!.map(\.bitPattern), sb.observation["segment"]!.map(\.bitPattern))
            XCTAssertEqual(sb.observation["privileged"]!.suffix(12), b.hiddenState.suffix(12))
            if sa.done { break }
        }
    }

    func testSpreadsAreValidated() throws {
        var spec = TestCell.spec()
        spec.damage.sensitivitySpread = -0.1
        XCTAssertThrowsError(try spec.validate()) { error in
            XCTAssertTrue("\(error)".contains("damage.sensitivitySpread"), "\(error)")
        }
        spec = TestCell.spec()
        spec.noise.contrastSpread = 4
        XCTAssertThrowsError(try spec.validate()) { error in
            XCTAssertTrue("\(error)".contains("noise.contrastSpread"), "\(error)")
        }
        // A misspelt field is refused with the nearest known one.
        let json = #"{"id":"X-v0","damage":{"sensitivitySpred":1}}"#
        XCTAssertThrowsError(try LiquidCellSpec.decode(Data(json.utf8), file: "x.json")) { error in
            XCTAssertTrue("\(error)".contains("damage.sensitivitySpread"), "\(error)")
        }
    }
}
