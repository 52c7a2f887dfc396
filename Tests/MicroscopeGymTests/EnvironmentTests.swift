import Foundation
import XCTest
@testable import LeonardoSim
@testable import MicroscopeGym

/// A small random LEONARDO (T = 32, 12 latents) with a synthetic dose calibration on the z4 axis, and the
/// shipped LiquidCell-v0 spec adapted to it: fast enough for debug-build tests.
enum TestCell {
    static let calibration = DoseCalibration(index: 3, slope: -0.8, intercept: 0.8, pearsonR: -0.6, residualStd: 0.3,
                                             correlations: [Double](repeating: 0, count: 12), count: 100, doseRange: [1, 100])
    static let model: Leonardo = {
        var c = LeonardoConfig.tiny
        c.length = 32; c.latentDim = 12
        let m = try! Leonardo(config: c, seed: 3)
        m.doseCalibration = calibration
        return m
    }()
    /// The same architecture and calibration with a fitted latent prior whose dose coordinate (index 3) is
    /// correlated with coordinates 0 and 5 (for `latent.prior = fitted`).
    static let fittedModel: Leonardo = {
        var c = LeonardoConfig.tiny
        c.length = 32; c.latentDim = 12
        let m = try! Leonardo(config: c, seed: 3)
        m.doseCalibration = calibration
        var sigma = [Double](repeating: 0, count: 144)
        for j in 0..<12 { sigma[j * 12 + j] = j == 3 ? 1.5 : 0.5 }
        sigma[3 * 12 + 0] = 0.6; sigma[0 * 12 + 3] = 0.6
        sigma[3 * 12 + 5] = -0.45; sigma[5 * 12 + 3] = -0.45
        sigma[0 * 12 + 5] = 0.1; sigma[5 * 12 + 0] = 0.1
        m.latentPrior = LatentPrior(mean: (0..<12).map { 0.1 * Double($0) - 0.4 }, cholesky: try! choleskyLower(sigma, 12), count: 1000)
        return m
    }()
    static func spec(_ id: String = "LiquidCell-v0", _ edit: (inout LiquidCellSpec) -> Void = { _ in }) -> LiquidCellSpec {
        var s = try! EnvironmentRegistry.spec(id: id)
        s.segmentFrames = 32
        edit(&s)
        return s
    }
    static func make(_ id: String = "LiquidCell-v0", _ edit: (inout LiquidCellSpec) -> Void = { _ in }) -> LiquidCell {
        try! LiquidCell(spec: spec(id, edit), model: model)
    }
}

final class SpaceTests: XCTestCase {
    func testBoxContainsAndSamples() {
        let box = Box(shape: [2, 2], low: [0, -1, -.infinity, 0], high: [1, 1, .infinity, .infinity])
        var rng = Xoshiro256StarStar(seed: 1)
        for _ in 0..<100 { XCTAssertTrue(box.contains(box.sample(using: &rng))) }
        XCTAssertFalse(box.contains([0, 0, 0]), "wrong length")
        XCTAssertFalse(box.contains([2, 0, 0, 0]), "above high")
        XCTAssertFalse(box.contains([0, -2, 0, 0]), "below low")
        XCTAssertFalse(box.contains([.nan, 0, 0, 0]), "NaN in a bounded entry")
        XCTAssertTrue(box.contains([0, 0, .nan, 0]), "NaN allowed where unbounded both ways (lost particle)")
    }

    func testDiscreteMultiDiscreteDict() {
        var rng = Xoshiro256StarStar(seed: 2)
        let d = Discrete(5)
        var seen = Set<Int>()
        for _ in 0..<200 { let x = d.sample(using: &rng); XCTAssertTrue(d.contains(x)); seen.insert(x) }
        XCTAssertEqual(seen, Set(0..<5))
        XCTAssertFalse(d.contains(5)); XCTAssertFalse(d.contains(-1))
        let md = MultiDiscrete([2, 3])
        for _ in 0..<50 { XCTAssertTrue(md.contains(md.sample(using: &rng))) }
        XCTAssertFalse(md.contains([2, 0])); XCTAssertFalse(md.contains([0]))
        let dict = DictSpace(["a": Box(shape: [1], low: 0, high: 1), "b": Box(shape: [2], low: -1, high: 1)])
        for _ in 0..<50 { XCTAssertTrue(dict.contains(dict.sample(using: &rng))) }
        XCTAssertFalse(dict.contains(["a": [0.5]]), "missing key")
        XCTAssertFalse(dict.contains(["a": [0.5], "b": [0, 0], "c": [1]]), "extra key")
        XCTAssertEqual(dict.keys, ["a", "b"])
    }
}

final class LiquidCellTests: XCTestCase {
    func testSeedingIsBitIdenticalAndNilContinues() throws {
        var a = TestCell.make(), b = TestCell.make()
        let (oa, _) = try a.reset(seed: 7), (ob, _) = try b.reset(seed: 7)
        XCTAssertTrue(bitIdentical(oa, ob))
        for action in [0, 5, 27, 13, 13, 2] {
            let sa = try a.step(action), sb = try b.step(action)
            XCTAssertTrue(bitIdentical(sa.observation, sb.observation))
            XCTAssertEqual(sa.reward.bitPattern, sb.reward.bitPattern)
        }
        let (c1, _) = try a.reset(seed: nil), (c2, _) = try b.reset(seed: 8)
        XCTAssertFalse(bitIdentical(c1, c2))
        let (n1, _) = try a.reset(seed: nil), (n2, _) = try a.reset(seed: nil)
        XCTAssertFalse(bitIdentical(n1, n2), "reset(seed: nil) continues the generator")
    }

    func testGoldenTrace() throws {
        var env = TestCell.make()
        _ = try env.reset(seed: 42)
        var rewards: [Double] = []
        for a in [3, 10, 17, 24] { rewards.append(try env.step(a).reward) }
        // Pins the environment's random stream and model: any change to either shows up here.
        XCTAssertEqual(rewards.count, 4)
        let golden = GoldenLiquidCell.rewards
        XCTAssertEqual(rewards.map { $0.bitPattern }, golden)
    }

    func testContractsThrow() throws {
        var env = TestCell.make()
        XCTAssertThrowsError(try env.step(0)) { XCTAssertEqual($0 as? EnvironmentError, .stepBeforeReset) }
        _ = try env.reset(seed: 1)
        XCTAssertThrowsError(try env.step(env.actionSpace.n)) { error in
            guard case .actionOutsideSpace = error as? EnvironmentError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try env.step(doseRate: 1000, frameRate: 25))
        XCTAssertThrowsError(try env.step(doseRate: 10, frameRate: 100))
        XCTAssertThrowsError(try env.step(doseRate: .nan, frameRate: 25))
        // Highest dose ends the episode by destruction; a further step throws until reset.
        var last: Step<[String: [Float]]>
        repeat { last = try env.step(doseRate: 100, frameRate: 25) } while !last.done
        XCTAssertTrue(last.terminated, "the specimen is destroyed at 100 e⁻/Å²/s before the time budget")
        XCTAssertGreaterThanOrEqual(last.info["damage"]!, env.spec.damage.destroyedAt)
        XCTAssertThrowsError(try env.step(0)) { XCTAssertEqual($0 as? EnvironmentError, .stepAfterEpisodeEnd) }
        _ = try env.reset(seed: 2)
        XCTAssertNoThrow(try env.step(0))
    }

    func testCheckerPassesAndCatchesABrokenEnvironment() throws {
        let report = try checkEnvironment(TestCell.make(), steps: 6)
        XCTAssertTrue(report.contains { $0.contains("bit-identical") })
        XCTAssertTrue(report.contains { $0.contains("step after the end") })
        XCTAssertThrowsError(try checkEnvironment(Nondeterministic(), steps: 4)) { error in
            XCTAssertTrue("\(error)".contains("same seed"), "\(error)")
        }
        XCTAssertThrowsError(try checkEnvironment(Clamping(), steps: 4)) { error in
            XCTAssertTrue("\(error)".contains("outside actionSpace was accepted"), "\(error)")
        }
    }

    func testNoiseFallsWithElectronsPerFrame() throws {
        let env = TestCell.make()
        // σ = √(c²/N + floor²): halving the frame rate doubles N.
        let s1 = env.localizationPrecision(electronsPerFrame: env.electronsPerFrame(doseRate: 10, frameRate: 25))
        let s2 = env.localizationPrecision(electronsPerFrame: env.electronsPerFrame(doseRate: 10, frameRate: 12.5))
        let s3 = env.localizationPrecision(electronsPerFrame: env.electronsPerFrame(doseRate: 40, frameRate: 25))
        XCTAssertGreaterThan(s1, s2); XCTAssertGreaterThan(s1, s3)
        let c = env.spec.noise.precisionConstant, floor = env.spec.noise.precisionFloor
        let n = 10.0 * 40 * 12 * 100 / 25
        XCTAssertEqual(s1, (c * c / n + floor * floor).squareRoot(), accuracy: 1e-12)
        // Empirically: residuals of observed minus true positions have that σ, and more electrons, fewer losses.
        func measure(_ d: Double, _ f: Double) throws -> (sigma: Double, detected: Double) {
            var e = TestCell.make { $0.damage.criticalDose = 1e6 }
            _ = try e.reset(seed: 3)
            var sq = 0.0, count = 0.0, detected = 0.0
            for _ in 0..<30 {
                let s = try e.step(doseRate: d, frameRate: f)
                let seg = s.observation["segment"]!, truth = e.lastTrueSegment
                for i in 0..<seg.count where seg[i].isFinite { let r = Double(seg[i]) - truth[i]; sq += r * r; count += 1 }
                detected += s.info["detected_fraction"]! / 30
            }
            return ((sq / count).squareRoot(), detected)
        }
        let low = try measure(5, 25), high = try measure(50, 25)
        XCTAssertEqual(low.sigma, env.localizationPrecision(electronsPerFrame: env.electronsPerFrame(doseRate: 5, frameRate: 25)), accuracy: 0.06 * low.sigma)
        XCTAssertEqual(high.sigma, env.localizationPrecision(electronsPerFrame: env.electronsPerFrame(doseRate: 50, frameRate: 25)), accuracy: 0.06 * high.sigma)
        XCTAssertGreaterThan(low.sigma, 2.5 * high.sigma)
        XCTAssertLessThan(low.detected, high.detected)
        let pLow = 1 - exp(-env.electronsPerFrame(doseRate: 5, frameRate: 25) / env.spec.noise.detectionElectrons)
        XCTAssertEqual(low.detected, pLow, accuracy: 0.06)
    }

    func testDamageGrowsWithDoseAndFollowsTheWeibullLaw() throws {
        var finals: [Double] = []
        for d in [2.0, 10.0, 50.0] {
            var env = TestCell.make()
            _ = try env.reset(seed: 4, options: ["dose_rate": d, "frame_rate": 25])
            var previous = env.damage
            for _ in 0..<3 {
                let s = try env.step(doseRate: d, frameRate: 25)
                XCTAssertGreaterThanOrEqual(s.info["damage"]!, previous)
                previous = s.info["damage"]!
                if s.done { break }
            }
            let spec = env.spec.damage
            let effective = env.cumulativeDose * pow(d / spec.referenceDoseRate, spec.doseRateExponent)
            XCTAssertEqual(env.damage, 1 - exp(-pow(effective / spec.criticalDose, spec.shape)), accuracy: 1e-12)
            XCTAssertEqual(env.cumulativeDose, d * env.elapsedTime, accuracy: 1e-9)
            finals.append(env.damage)
        }
        XCTAssertLessThan(finals[0], finals[1]); XCTAssertLessThan(finals[1], finals[2])
    }

    func testLatentFollowsDoseWithALag() throws {
        var env = TestCell.make { $0.latent.relaxationTime = 8; $0.latent.doseLagTime = 8; $0.damage.criticalDose = 1e6 }
        _ = try env.reset(seed: 5, options: ["dose_rate": 1, "frame_rate": 25])
        let cal = TestCell.calibration
        var trace: [Double] = []
        for _ in 0..<40 { trace.append(try env.step(doseRate: 100, frameRate: 25).info["effective_dose_rate"]!) }
        // The effective dose rate rises monotonically toward 100 (lag of 8 s in log dose; 1.28 s per step), not
        // in one jump; the episode at 100 e⁻/Å²/s must not end by destruction first, hence the soft damage.
        XCTAssertLessThan(trace[0], 50)
        for i in 1..<trace.count { XCTAssertGreaterThan(trace[i], trace[i - 1]) }
        XCTAssertGreaterThan(trace.last!, 95)
        // The dose coordinate z4 relaxes to the calibrated latent for 100 e⁻/Å²/s (target −0.8), with OU noise.
        XCTAssertEqual(env.z[cal.index], cal.latent(forDoseRate: 100), accuracy: 4 * cal.residualStd)
        // Averaged over episodes: clearly below its native value (+0.8).
        var mean = 0.0
        for s in 0..<20 {
            var e = TestCell.make { $0.latent.relaxationTime = 8; $0.latent.doseLagTime = 8; $0.damage.criticalDose = 1e6 }
            _ = try e.reset(seed: UInt64(100 + s), options: ["dose_rate": 1, "frame_rate": 25])
            for _ in 0..<40 { _ = try e.step(doseRate: 100, frameRate: 25) }
            mean += e.z[cal.index] / 20
        }
        XCTAssertEqual(mean, cal.latent(forDoseRate: 100), accuracy: 0.15)
    }

    /// `latent.prior = fitted`: at a steady dose rate the decoded latents have the fitted prior's conditional law
    /// given the dose coordinate (regression slope, residual variance, mean), and the dose coordinate its calibration.
    func testFittedPriorLatentProcessHasTheConditionalLaw() throws {
        let spec = TestCell.spec { $0.latent.prior = .fitted; $0.latent.relaxationTime = 1; $0.latent.doseLagTime = 0.01 }
        var env = try LiquidCell(spec: spec, model: TestCell.fittedModel)
        _ = try env.reset(seed: 17)
        let cond = try XCTUnwrap(env.conditionalPrior)
        let cal = TestCell.calibration, i = cal.index, n = 20_000
        var zs: [[Float]] = []
        for _ in 0..<n { zs.append(env.advanceLatent(doseRate: 10)) }
        let di = zs.map { Double($0[i]) }
        let mi = di.reduce(0, +) / Double(n)
        let vi = di.reduce(0) { $0 + ($1 - mi) * ($1 - mi) } / Double(n)
        XCTAssertEqual(mi, cal.latent(forDoseRate: 10), accuracy: 0.02)
        XCTAssertEqual(vi.squareRoot(), cal.residualStd, accuracy: 0.02)
        for j in [0, 5, 7] {
            let dj = zs.map { Double($0[j]) }
            let mj = dj.reduce(0, +) / Double(n)
            var cij = 0.0
            for t in 0..<n { cij += (di[t] - mi) * (dj[t] - mj) }
            let slope = cij / Double(n) / vi
            var residual = 0.0
            for t in 0..<n { let r = dj[t] - mj - slope * (di[t] - mi); residual += r * r }
            var sjj = 0.0
            for m in 0..<12 { sjj += cond.cholesky[j * 12 + m] * cond.cholesky[j * 12 + m] }
            XCTAssertEqual(slope, cond.slope[j], accuracy: 0.06, "slope of z\(j + 1) on the dose coordinate")
            XCTAssertEqual(residual / Double(n), sjj, accuracy: 0.03, "conditional variance of z\(j + 1)")
            XCTAssertEqual(mj, cond.mean[j] + cond.slope[j] * (cal.latent(forDoseRate: 10) - cond.mean[i]), accuracy: 0.03)
        }
        // Known values of this prior: slopes 0.6/1.5 = 0.4 and −0.45/1.5 = −0.3, uncorrelated z8 has slope 0.
        XCTAssertEqual(cond.slope[0], 0.4, accuracy: 1e-12); XCTAssertEqual(cond.slope[5], -0.3, accuracy: 1e-12)
        XCTAssertEqual(cond.slope[7], 0)
        // A fitted prior needs one in the checkpoint.
        XCTAssertThrowsError(try LiquidCell(spec: spec, model: TestCell.model)) { XCTAssertTrue("\($0)".contains("latent.prior"), "\($0)") }
    }

    func testFittedPriorGoldenTrace() throws {
        var env = try LiquidCell(spec: TestCell.spec { $0.latent.prior = .fitted }, model: TestCell.fittedModel)
        _ = try env.reset(seed: 42)
        var rewards: [Double] = []
        for a in [3, 10, 17, 24] { rewards.append(try env.step(a).reward) }
        XCTAssertEqual(rewards.map { $0.bitPattern }, GoldenLiquidCell.fittedPriorRewards)
        // The standard-prior environment of the same model differs (the prior matters).
        var standard = try LiquidCell(spec: TestCell.spec(), model: TestCell.fittedModel)
        _ = try standard.reset(seed: 42)
        var other: [Double] = []
        for a in [3, 10, 17, 24] { other.append(try standard.step(a).reward) }
        XCTAssertEqual(other.map { $0.bitPattern }, GoldenLiquidCell.rewards, "v0 behaviour is unchanged by a stored prior")
        XCTAssertNotEqual(rewards, other)
    }

    func testRangeSpreadsSplitIntoParticleAndSegmentParts() throws {
        // log L = log L_ref + e_L log(d/d_ref) + σ_m·N (per episode) + σ_u·N (per segment): over many episodes of
        // a few segments each, the one-way variance decomposition recovers σ_m and σ_u.
        var env = TestCell.make { $0.scale.particleSpread = 0.65; $0.scale.segmentSpread = 0.47 }
        let episodes = 400, k = 4
        var logs: [[Double]] = []
        for e in 0..<episodes {
            _ = try env.reset(seed: UInt64(7000 + e), options: [:])
            env.logEffectiveDoseRate = Foundation.log(env.spec.scale.referenceDoseRate)
            logs.append((0..<k).map { _ in Foundation.log(env.segmentRange() / env.spec.scale.referenceRange) })
        }
        let means = logs.map { $0.reduce(0, +) / Double(k) }
        let grand = means.reduce(0, +) / Double(episodes)
        let within = zip(logs, means).map { row, m in row.map { ($0 - m) * ($0 - m) }.reduce(0, +) }.reduce(0, +)
            / Double(episodes * (k - 1))
        let between = means.map { ($0 - grand) * ($0 - grand) }.reduce(0, +) / Double(episodes - 1) - within / Double(k)
        XCTAssertEqual(within.squareRoot(), 0.47, accuracy: 0.03)
        XCTAssertEqual(between.squareRoot(), 0.65, accuracy: 0.06)
        XCTAssertEqual(grand, 0, accuracy: 0.08, "L_ref is the median range at the reference dose rate")
        // Without spreads every segment of every particle has the reference range exactly.
        var flat = TestCell.make { $0.scale.particleSpread = 0; $0.scale.segmentSpread = 0 }
        _ = try flat.reset(seed: 1, options: [:])
        flat.logEffectiveDoseRate = Foundation.log(flat.spec.scale.referenceDoseRate)
        XCTAssertEqual(flat.segmentRange(), flat.spec.scale.referenceRange, accuracy: 1e-9)
    }

    func testTruncationAtTimeAndDoseBudgets() throws {
        var env = TestCell.make()
        _ = try env.reset(seed: 6)
        var s: Step<[String: [Float]]>
        repeat { s = try env.step(doseRate: 1, frameRate: 3.125) } while !s.done
        XCTAssertTrue(s.truncated); XCTAssertFalse(s.terminated)
        XCTAssertGreaterThanOrEqual(env.elapsedTime, env.spec.limits.timeBudget!)
        var budget = TestCell.make("DoseBudget-v0")
        _ = try budget.reset(seed: 6)
        repeat { s = try budget.step(doseRate: 50, frameRate: 25) } while !s.done
        XCTAssertTrue(s.truncated)
        XCTAssertGreaterThanOrEqual(budget.cumulativeDose, budget.spec.limits.doseBudget!)
    }

    func testObservationLayoutAndFrameRateSubsampling() throws {
        var env = TestCell.make()
        _ = try env.reset(seed: 9)
        let s = try env.step(doseRate: 20, frameRate: 3.125)
        XCTAssertEqual(s.info["decoded_segments"], 8, "25/3.125 = 8 decoded segments per recorded segment")
        XCTAssertEqual(s.observation["segment"]!.count, 64)
        XCTAssertEqual(s.observation["instrument"]!.count, 5)
        XCTAssertEqual(s.observation["features"]!.count, LiquidCell.featureNames.count)
        XCTAssertEqual(Double(s.observation["instrument"]![1]), 0, accuracy: 1e-6, "lowest frame rate maps to 0")
        XCTAssertEqual(env.segmentsNeeded(frameRate: 25), 1)
        XCTAssertEqual(env.segmentsNeeded(frameRate: 12.5), 2)
        XCTAssertEqual(env.segmentsNeeded(frameRate: 10), 3, "r = 2.5: 31·2.5 + 1 = 78.5 → 79 base frames → 3 segments of 32")
    }
}

final class WrapperTests: XCTestCase {
    func testTimeLimitEpisodeStatisticsFlattenNormalize() throws {
        var env = EpisodeStatistics(TimeLimit(TestCell.make(), maxSteps: 3))
        _ = try env.reset(seed: 1)
        var total = 0.0, s: Step<[String: [Float]]>
        repeat { s = try env.step(0); total += s.reward } while !s.done
        XCTAssertTrue(s.truncated)
        XCTAssertEqual(s.info["episode_length"], 3)
        XCTAssertEqual(s.info["episode_return"]!, total, accuracy: 1e-12)
        XCTAssertEqual(env.completed.count, 1)

        var flat = try FlattenObservation(TestCell.make(), keys: ["instrument", "features"])
        XCTAssertEqual(flat.keys, ["features", "instrument"])
        XCTAssertEqual(flat.observationSpace.count, LiquidCell.featureNames.count + 5)
        let (o, _) = try flat.reset(seed: 1)
        XCTAssertTrue(flat.observationSpace.contains(o))
        XCTAssertThrowsError(try FlattenObservation(TestCell.make(), keys: ["nope"]))

        var norm = NormalizeObservation(flat)
        _ = try norm.reset(seed: 2)
        var samples: [[Float]] = []
        for a in 0..<20 { let st = try norm.step(a % 28); samples.append(st.observation); if st.done { _ = try norm.reset(seed: 3) } }
        XCTAssertTrue(samples.allSatisfy { norm.observationSpace.contains($0) })
        // Running mean/variance: the statistics of the raw features are being tracked.
        XCTAssertGreaterThan(norm.count, 10)
    }

    func testActionMappings() throws {
        var cont = try ContinuousActions(TestCell.make(), gridShape: [7, 4])
        XCTAssertEqual(cont.discrete([0, 0]), 0)
        XCTAssertEqual(cont.discrete([1, 1]), 27)
        XCTAssertEqual(cont.discrete([0.5, 1]), 3 * 4 + 3)
        _ = try cont.reset(seed: 1)
        XCTAssertThrowsError(try cont.step([1.5, 0]))
        XCTAssertThrowsError(try ContinuousActions(TestCell.make(), gridShape: [5, 5]))

        var box = ContinuousLiquidCell(TestCell.make())
        _ = try box.reset(seed: 1)
        let s = try box.step([1, Float(Foundation.log10(12.5))])
        XCTAssertEqual(s.info["dose_rate"]!, 10, accuracy: 1e-4)
        XCTAssertEqual(s.info["frame_rate"]!, 12.5, accuracy: 1e-4)
        XCTAssertThrowsError(try box.step([3, 1]))
        var disc = try DiscreteActions(ContinuousLiquidCell(TestCell.make()), table: [[0, Float(Foundation.log10(25.0))], [2, Float(Foundation.log10(3.125))]])
        _ = try disc.reset(seed: 1)
        XCTAssertEqual(try disc.step(1).info["dose_rate"]!, 100, accuracy: 1e-3)
        XCTAssertThrowsError(try DiscreteActions(ContinuousLiquidCell(TestCell.make()), table: [[5, 0]]))
    }

    func testVectorEnvironmentsAutoResetAndBatchedDecodingAgree() throws {
        var batched = LiquidCellVector(TestCell.make(), count: 3)
        var plain = VectorEnvironment({ TestCell.make() }, count: 3)
        let o1 = try batched.reset(seed: 10), o2 = try plain.reset(seed: 10)
        XCTAssertTrue(zip(o1, o2).allSatisfy { bitIdentical($0, $1) })
        var resets = 0
        for t in 0..<24 {
            let actions = [27, t % 28, 3]   // env 0 at full dose ends soon and must auto-reset
            let a = try batched.step(actions), b = try plain.step(actions)
            for i in 0..<3 {
                XCTAssertEqual(a.rewards[i], b.rewards[i], accuracy: 1e-3 * max(1, abs(b.rewards[i])))
                XCTAssertEqual(a.terminated[i], b.terminated[i]); XCTAssertEqual(a.truncated[i], b.truncated[i])
                if a.terminated[i] || a.truncated[i] { XCTAssertNotNil(a.finalObservations[i]); resets += 1 }
            }
        }
        XCTAssertGreaterThan(resets, 0)
    }
}

final class SpecTests: XCTestCase {
    func testShippedScenariosLoad() throws {
        let ids = EnvironmentRegistry.ids()
        for id in ["LiquidCell-v0", "LiquidCell-v1", "BeamSensitive-v0", "DoseBudget-v0"] {
            XCTAssertTrue(ids.contains(id), "\(id) not registered: \(ids)")
            let spec = try EnvironmentRegistry.spec(id: id)
            XCTAssertEqual(spec.id, id)
        }
        let a = try EnvironmentRegistry.spec(id: "LiquidCell-v0"), b = try EnvironmentRegistry.spec(id: "BeamSensitive-v0")
        XCTAssertLessThan(b.damage.criticalDose, a.damage.criticalDose)
        XCTAssertNotNil(try EnvironmentRegistry.spec(id: "DoseBudget-v0").limits.doseBudget)
        // v1 is v0 with the fitted latent prior, nothing else.
        var v1 = try EnvironmentRegistry.spec(id: "LiquidCell-v1")
        XCTAssertEqual(v1.latent.prior, .fitted); XCTAssertEqual(a.latent.prior, .standard)
        v1.id = a.id; v1.description = a.description; v1.latent.prior = .standard; v1.sourceFile = a.sourceFile
        XCTAssertEqual(v1, a)
        XCTAssertThrowsError(try EnvironmentRegistry.spec(id: "NoSuch-v9")) { error in
            XCTAssertTrue("\(error)".contains("LiquidCell-v0"), "lists the known IDs: \(error)")
        }
    }

    func testMalformedSpecsNameTheField() throws {
        let original = try String(contentsOfFile: EnvironmentRegistry.directory + "/LiquidCell-v0.json", encoding: .utf8)
        func load(_ text: String) -> String {
            let path = NSTemporaryDirectory() + "spec-\(getpid())-\(UUID().uuidString).json"
            try! text.write(toFile: path, atomically: true, encoding: .utf8)
            do { _ = try LiquidCellSpec.load(path); return "no error" } catch { return "\(error)" }
        }
        XCTAssertTrue(load(original.replacingOccurrences(of: "\"destroyedAt\": 0.95", with: "\"destroyedAt\": 1.5")).contains("damage.destroyedAt"))
        XCTAssertTrue(load(original.replacingOccurrences(of: "\"baseFrameRate\": 25", with: "\"baseFrameRate\": 10")).contains("frameRates[2]"))
        XCTAssertTrue(load(original.replacingOccurrences(of: "\"precisionConstant\": 400,", with: "")).contains("noise.precisionConstant"))
        XCTAssertTrue(load(original.replacingOccurrences(of: "\"timeBudget\": 320", with: "\"timeBudget\": \"long\"")).contains("limits.timeBudget"))
        XCTAssertTrue(load(original.replacingOccurrences(of: "\"prior\": \"standard\"", with: "\"prior\": \"gaussian\"")).contains("latent.prior"))
        XCTAssertTrue(load("{ not json").contains("not valid JSON"))
        XCTAssertTrue(load(original).contains("no error"))
    }
}

/// An environment whose observations ignore the seed: the checker must catch it.
struct Nondeterministic: Environment {
    var counter = 0
    var observationSpace: Box { Box(shape: [1], low: 0, high: 1e9) }
    var actionSpace: Discrete { Discrete(2) }
    mutating func reset(seed: UInt64?, options: [String: Double]) throws -> ([Float], Info) {
        counter += 1
        return ([Float(counter)], [:])
    }
    mutating func step(_ action: Int) throws -> Step<[Float]> {
        counter += 1
        return Step(observation: [Float(counter)], reward: 0, terminated: false, truncated: false)
    }
}

/// An environment that silently clamps bad actions: the checker must catch it.
struct Clamping: Environment {
    var t = 0
    var observationSpace: Box { Box(shape: [1], low: 0, high: 100) }
    var actionSpace: Discrete { Discrete(2) }
    mutating func reset(seed: UInt64?, options: [String: Double]) throws -> ([Float], Info) { t = 0; return ([0], [:]) }
    mutating func step(_ action: Int) throws -> Step<[Float]> {
        t += 1
        return Step(observation: [Float(min(action, 1))], reward: 0, terminated: false, truncated: false)
    }
}

enum GoldenLiquidCell {
    static let rewards: [UInt64] = [4560904751783586185, 4593174004218102367, 4609349089851578887, 13834876295412401585]
    static let fittedPriorRewards: [UInt64] = [4560794545556018766, 4591007615479998188, 4609104509153391928, 13835419060032105479]
}

final class SweepTests: XCTestCase {
    func testShardsMergeIntoTheUnshardedSweep() throws {
        let env = TestCell.make { $0.limits.timeBudget = 20 }
        let doses = [2.0, 20.0], frames = [6.25, 25.0]
        let whole = try SweepTable.run(env, doseRates: doses, frameRates: frames, episodes: 2, seed: 5)
        XCTAssertTrue(whole.isComplete)
        let parts = try (0..<3).map { try SweepTable.run(env, doseRates: doses, frameRates: frames, episodes: 2, seed: 5, shard: $0, of: 3) }
        XCTAssertFalse(parts[0].isComplete)
        let merged = try SweepTable.merge(parts)
        XCTAssertEqual(merged, whole)
        XCTAssertThrowsError(try SweepTable.merge([parts[0], parts[0]]), "overlapping parts")
        var other = parts[1]; other.seed = 6
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
        XCTAssertEqual(oracle.perEpisodeBest.mean,
                       (0..<2).map { e in whole.results.values.map { $0.episodeReturns[e] }.max()! }.reduce(0, +) / 2, accuracy: 1e-12)
        XCTAssertGreaterThanOrEqual(oracle.gainOverBestFixed.mean, 0)
        XCTAssertNil(parts[0].hindsightOracle, "an incomplete shard has no oracle")
        XCTAssertTrue(whole.csv().split(separator: "\n").count == 5)
        XCTAssertTrue(whole.heatmapSVG().hasPrefix("<svg"))
        XCTAssertThrowsError(try SweepTable.run(env, doseRates: [1000], frameRates: frames, episodes: 1, seed: 1))
    }
}
