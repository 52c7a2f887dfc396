import XCTest
@testable import LeonardoSim
@testable import MicroscopeGym

final class FillLostFramesTests: XCTestCase {
    /// A random walk (H = ½) of step variance 2D per axis seen through noise of variance r, with frames lost
    /// independently with probability `loss`: (recorded with NaN where lost, truth).
    func randomWalk(frames T: Int, D: Double, r: Double, loss: Double, seed: UInt64) -> ([Float], [Double]) {
        let (recorded, truth, _) = recordedWalk(frames: T, D: D, r: r, loss: loss, seed: seed)
        return (recorded, truth)
    }

    /// `randomWalk`, and what a tracker would have recorded at every frame, lost ones included (truth + noise).
    func recordedWalk(frames T: Int, D: Double, r: Double, loss: Double, seed: UInt64) -> ([Float], [Double], [Double])
    {
        var rng = Xoshiro256StarStar(seed: seed)
        var truth = [Double](repeating: 0, count: 2 * T)
        var wouldRecord = truth
        var recorded = [Float](repeating: .nan, count: 2 * T)
        var x = (100.0, -50.0)
        for t in 0..<T {
            x.0 += (2 * D).squareRoot() * rng.normal()
            x.1 += (2 * D).squareRoot() * rng.normal()
            truth[2 * t] = x.0
            truth[2 * t + 1] = x.1
            wouldRecord[2 * t] = x.0 + r.squareRoot() * rng.normal()
            wouldRecord[2 * t + 1] = x.1 + r.squareRoot() * rng.normal()
            if rng.uniform() >= loss {
                recorded[2 * t] = Float(wouldRecord[2 * t])
                recorded[2 * t + 1] = Float(wouldRecord[2 * t + 1])
            }
        }
        return (recorded, truth, wouldRecord)
    }

    var belief: SegmentBelief {
        try! SegmentBelief(model: TestCell.model, calibration: TestCell.calibration, hurst: 0.5)
    }

    /// The variogram fit (lags 1 … 16) recovers D and r of a long random walk through noise (40,000 frames: standard
    /// errors about 2 % of D and 8 % of r), with and without lost frames.
    func testVariogramRecoversDiffusivityAndNoise() throws {
        for loss in [0.0, 0.3] {
            let (recorded, _) = randomWalk(frames: 40_000, D: 4, r: 1, loss: loss, seed: 7)
            let observed = (0..<40_000).map { !recorded[2 * $0].isNaN }
            let fit = try XCTUnwrap(belief.variogramEstimate(recorded, observed: observed))
            XCTAssertEqual(fit.diffusivity, 4, accuracy: 0.25, "loss \(loss)")
            XCTAssertEqual(fit.noiseVariance, 1, accuracy: 0.25, "loss \(loss)")
            XCTAssertEqual(fit.hurst, 0.5)
        }
        // Short segments (200 frames, 30 % lost; 400 of them): D is well determined and unbiased, r is noisy
        // (per-segment sd ≈ 1 against r = 1, from Monte Carlo) but centred: the median within 0.2 of the truth.
        var diffusivities: [Double] = []
        var noiseVariances: [Double] = []
        for seed in 1...400 as ClosedRange<UInt64> {
            let (recorded, _) = randomWalk(frames: 200, D: 4, r: 1, loss: 0.3, seed: seed)
            let observed = (0..<200).map { !recorded[2 * $0].isNaN }
            let fit = try XCTUnwrap(belief.variogramEstimate(recorded, observed: observed))
            diffusivities.append(fit.diffusivity)
            noiseVariances.append(fit.noiseVariance)
        }
        XCTAssertEqual(diffusivities.reduce(0, +) / 400, 4, accuracy: 0.2)
        XCTAssertEqual(noiseVariances.sorted()[200], 1, accuracy: 0.2)
        // Pure noise: D falls to its floor, r takes the whole variance (v₁ = 2r).
        var rng = Xoshiro256StarStar(seed: 2)
        let noise = (0..<4000).map { _ in Float(rng.normal()) }
        let fit = try XCTUnwrap(belief.variogramEstimate(noise, observed: [Bool](repeating: true, count: 2000)))
        XCTAssertEqual(fit.noiseVariance, 1, accuracy: 0.1)
        XCTAssertLessThan(fit.diffusivity, 0.1)
    }

    /// Filled frames beat holding the last position against the truth; tracked frames keep their recorded values
    /// with uncertainty √r; the uncertainty of a lost frame, √(σ²_post + r), covers the value a tracker would have
    /// recorded there as a Gaussian band should (|error| < 1.645 sd for about 90 % of them).
    func testFillBeatsHoldingAndItsUncertaintyIsCalibrated() {
        var filledError = 0.0
        var heldError = 0.0
        var covered = 0
        var lost = 0
        for seed in 1...20 as ClosedRange<UInt64> {
            let T = 200
            let (recorded, truth, wouldRecord) = recordedWalk(frames: T, D: 4, r: 1, loss: 0.3, seed: seed)
            let fill = belief.fill(recorded, frames: T)
            let held = HoldLostFrames<LiquidCell>.transform(["segment": recorded], frames: T)["segment"]!
            let fit = fill.model!
            for t in 0..<T {
                if recorded[2 * t].isNaN {
                    XCTAssertEqual(fill.tracked[t], 0)
                    for a in 0..<2 {
                        let e = Double(fill.positions[2 * t + a]) - truth[2 * t + a]
                        filledError += e * e
                        let h = Double(held[2 * t + a]) - truth[2 * t + a]
                        heldError += h * h
                        let u = Double(fill.positions[2 * t + a]) - wouldRecord[2 * t + a]
                        if abs(u) < 1.645 * Double(fill.uncertainty[t]) { covered += 1 }
                        lost += 1
                    }
                    // A lost frame is less certain than a recorded one: its variance is r plus the posterior's.
                    XCTAssertGreaterThan(Double(fill.uncertainty[t]), fit.noiseVariance.squareRoot())
                } else {
                    XCTAssertEqual(fill.tracked[t], 1)
                    XCTAssertEqual(fill.positions[2 * t], recorded[2 * t])
                    XCTAssertEqual(fill.positions[2 * t + 1], recorded[2 * t + 1])
                    XCTAssertEqual(Double(fill.uncertainty[t]), fit.noiseVariance.squareRoot(), accuracy: 1e-6)
                }
            }
        }
        XCTAssertGreaterThan(lost, 2000)
        XCTAssertLessThan(filledError, 0.75 * heldError, "the posterior mean should clearly beat holding")
        let coverage = Double(covered) / Double(lost)
        XCTAssertGreaterThan(coverage, 0.85, "coverage \(coverage)")
        XCTAssertLessThan(coverage, 0.95, "coverage \(coverage)")
    }

    /// With fewer than `minimumTracked` tracked frames nothing is filled and the belief is the latent prior:
    /// mean 0, log sd 0, the dose coordinate's prior mapped through the calibration.
    func testTooFewTrackedFramesGiveThePrior() {
        var segment = [Float](repeating: .nan, count: 64)
        for t in [3, 10, 20] {
            segment[2 * t] = Float(t)
            segment[2 * t + 1] = 1
        }
        let fill = belief.fill(segment, frames: 32)
        XCTAssertNil(fill.model)
        XCTAssertEqual(fill.uncertainty, [Float](repeating: SegmentBelief.unknown, count: 32))
        XCTAssertEqual(
            fill.positions, HoldLostFrames<LiquidCell>.transform(["segment": segment], frames: 32)["segment"])
        let b = belief.features(of: fill, frames: 32)
        XCTAssertEqual(b.count, SegmentBelief.names(latentDimension: 12).count)
        XCTAssertEqual(Array(b[0..<24]), [Float](repeating: 0, count: 24))
        let c = TestCell.calibration
        XCTAssertEqual(Double(b[24]), -c.intercept / c.slope, accuracy: 1e-6)
        XCTAssertEqual(Double(b[25]), 1 / abs(c.slope), accuracy: 1e-6)
        XCTAssertEqual(Array(b[26...]), [0, 0, 0])
    }

    /// The wrapper passes the environment checker; its observations lie in its bounded space; tracked frames and
    /// rewards are the raw environment's; its belief equals the one `LiquidCell.observingBelief` adds.
    func testWrapperPassesTheCheckerAndAgreesWithTheEnvironmentsBelief() throws {
        let cell = TestCell.make()
        let b = belief
        var env = try FillLostFrames(cell, belief: b)
        XCTAssertEqual(
            env.observationSpace.keys, ["belief", "features", "instrument", "segment", "tracked", "uncertainty"])
        XCTAssertTrue(env.observationSpace.spaces.values.allSatisfy { $0.low.allSatisfy(\.isFinite) })
        try checkEnvironment(env)
        var raw = cell.observingBelief(b)
        _ = try raw.reset(seed: 9)
        _ = try env.reset(seed: 9)
        var lost = 0
        for _ in 0..<5 {
            let r = try raw.step(0)  // lowest dose rate and frame rate: frames get lost
            let s = try env.step(0)
            XCTAssertTrue(env.observationSpace.contains(s.observation))
            XCTAssertEqual(r.reward, s.reward)
            XCTAssertEqual(r.observation["belief"], s.observation["belief"])
            XCTAssertEqual(r.observation["features"], s.observation["features"])
            for i in 0..<env.frames where !r.observation["segment"]![2 * i].isNaN {
                XCTAssertEqual(s.observation["segment"]![2 * i], r.observation["segment"]![2 * i])
            }
            lost += r.observation["segment"]!.enumerated().filter { $0.offset % 2 == 0 && $0.element.isNaN }.count
        }
        XCTAssertGreaterThan(lost, 0, "the lowest dose should lose some frames")
    }

    /// Refusals: a base that already has a `tracked` key, a Hurst exponent outside (0, 1), a missing fill prior.
    func testRefusals() throws {
        XCTAssertThrowsError(try FillLostFrames(try HoldLostFrames(TestCell.make()), belief: belief)) {
            XCTAssertTrue("\($0)".contains("already has a 'tracked' key"), "\($0)")
        }
        XCTAssertThrowsError(try SegmentBelief(model: TestCell.model, calibration: TestCell.calibration, hurst: 1)) {
            XCTAssertTrue("\($0)".contains("Hurst exponent"), "\($0)")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertThrowsError(try SegmentBelief(cell: TestCell.make(), priorPath: dir + "/missing.json")) {
            XCTAssertTrue("\($0)".contains("missing.json"), "\($0)")
        }
        let bad = dir + "/bad.json"
        try Data("{\"prior\": 3}".utf8).write(to: URL(fileURLWithPath: bad))
        XCTAssertThrowsError(try SegmentBelief(cell: TestCell.make(), priorPath: bad)) {
            XCTAssertTrue("\($0)".contains("not a fractional-noise prior"), "\($0)")
        }
        // The shipped prior gives the typical real particle's Hurst exponent.
        let shipped = try SegmentBelief(cell: TestCell.make())
        XCTAssertEqual(shipped.hurst, 0.43, accuracy: 0.01)
    }
}
