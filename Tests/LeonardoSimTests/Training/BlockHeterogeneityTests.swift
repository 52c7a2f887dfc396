import Foundation
import XCTest
@testable import LeonardoSim

/// The statistics behind this project's loss terms L12 (block heterogeneity), L13 (long-lag MSD) and L14
/// (step profile), their wiring
/// into the loss and checkpoints.
final class BlockHeterogeneityTests: XCTestCase {
    /// Loss terms for input r and reconstruction r̂ (N×T×2 each) with a zero posterior (one latent).
    func lossTerms(_ w: LossWeights, _ r: [Float], _ rh: [Float], length T: Int, batch N: Int) -> LossTerms {
        let zeros = [Float](repeating: 0, count: N)
        return r.withUnsafeBufferPointer { a in
            rh.withUnsafeBufferPointer { b in
                zeros.withUnsafeBufferPointer { z in
                    PhysicsLoss(weights: w, length: T).evaluate(
                        input: a.baseAddress!, reconstruction: b.baseAddress!, mu: z.baseAddress!,
                        logvar: z.baseAddress!, batch: N, latent: 1)
                }
            }
        }
    }

    func h(_ r: [Double], blocks: Int) -> Double {
        let f = r.map { Float($0) }
        return f.withUnsafeBufferPointer {
            PhysicsLoss.blockHeterogeneity($0.baseAddress!, length: r.count / 2, blocks: blocks)
        }
    }

    func testHandValues() {
        // 8 steps along x of sizes 1,1,1,1,2,2,2,2 in 4 blocks: block logs 0, 0, ln 4, ln 4 → variance (ln 2)².
        var x = [0.0]
        for s in [1.0, 1, 1, 1, 2, 2, 2, 2] { x.append(x.last! + s) }
        let r: [Double] = x.flatMap { [$0, 0.0] }
        XCTAssertEqual(h(r, blocks: 4), log(2) * log(2), accuracy: 1e-5)
        // the same step size throughout: no heterogeneity, whatever the direction of the steps
        let zigzag: [Double] = (0..<9).flatMap { [Double($0 % 2), 0.5 * Double($0)] }
        XCTAssertEqual(h(zigzag, blocks: 4), 0, accuracy: 1e-9)
        // 2 blocks of steps 1 and 3: logs 0 and ln 9 → variance (ln 3)²
        let two: [Double] = [0.0, 1, 2, 5, 8].flatMap { [0.0, $0] }
        XCTAssertEqual(h(two, blocks: 2), log(3) * log(3), accuracy: 1e-5)
    }

    /// For Brownian motion the block sums of squared 2-D steps are Gamma(n_k, 2)-distributed, so
    /// Var(log block mean) = ψ′(n_k) (trigamma) exactly and E[h] = (K−1)/K² Σ_k ψ′(n_k); with 199 steps in
    /// 4 blocks (49, 50, 50, 50 steps) that is 0.015229. 2,000 walks: standard error ≈ 0.0003.
    func testBrownianMotionMatchesTheTrigammaLaw() {
        func trigamma(_ n: Double) -> Double { 1 / n + 1 / (2 * n * n) + 1 / (6 * n * n * n) - 1 / (30 * pow(n, 5)) }
        let expected = 3.0 / 16.0 * (trigamma(49) + 3 * trigamma(50))
        XCTAssertEqual(expected, 0.015229, accuracy: 2e-6)
        var rng = Xoshiro256StarStar(seed: 77)
        var sum = 0.0
        let n = 2000
        for _ in 0..<n { sum += h(DiffusionProcess.brownian(length: 200, using: &rng), blocks: 4) }
        XCTAssertEqual(sum / Double(n), expected, accuracy: 0.001)
    }

    /// ATTM switches diffusivity over time; Brownian motion does not.
    func testATTMIsMoreHeterogeneousThanBrownianMotion() {
        var rng = Xoshiro256StarStar(seed: 78)
        var attm: [Double] = []
        var bm: [Double] = []
        for _ in 0..<200 {
            attm.append(h(DiffusionProcess.attm(alpha: 0.5, length: 200, using: &rng), blocks: 4))
            bm.append(h(DiffusionProcess.brownian(length: 200, using: &rng), blocks: 4))
        }
        let medA = attm.sorted()[100]
        let medB = bm.sorted()[100]
        XCTAssertGreaterThan(medA, 10 * medB)
    }

    func testTermIsZeroForIdenticalHeterogeneityAndWeighted() {
        var rng = Xoshiro256StarStar(seed: 5)
        let T = 40
        let N = 3
        let r = (0..<N).flatMap { _ in DiffusionProcess.attm(alpha: 0.6, length: T, using: &rng).map { Float($0) } }
        var w = LossWeights()
        w.blockHeterogeneity = 7
        func terms(_ rh: [Float]) -> LossTerms { lossTerms(w, r, rh, length: T, batch: N) }
        // a mirrored copy has the same step sizes in the same order: L12 = 0
        XCTAssertEqual(
            terms(r.enumerated().map { $0.offset % 2 == 0 ? -$0.element : $0.element })[.blockHeterogeneity], 0,
            accuracy: 1e-12)
        // a Brownian reconstruction does not; the total carries w₁₂·L12
        let bm = (0..<N).flatMap { _ in DiffusionProcess.brownian(length: T, using: &rng).map { Float($0) } }
        let t = terms(bm)
        XCTAssertGreaterThan(t[.blockHeterogeneity], 0.01)
        XCTAssertEqual(t.total, w.total(t), accuracy: 1e-9 * t.total)
    }

    /// L13's statistic: a straight walk of unit steps has TAMSD(τ) = τ²; Brownian motion has E[TAMSD(τ)] = 2τ.
    func testLogTimeAveragedMSD() {
        let T = 200
        let lags = [1, 10, 50, 150]
        var out = [Double](repeating: 0, count: lags.count)
        let line = (0..<T).flatMap { [Float($0) * 0.6, Float($0) * 0.8] }
        line.withUnsafeBufferPointer {
            PhysicsLoss.logTimeAveragedMSD($0.baseAddress!, length: T, lags: lags, out: &out)
        }
        for (j, tau) in lags.enumerated() {
            XCTAssertEqual(out[j], log(Double(tau * tau)), accuracy: 1e-5, "τ = \(tau)")
        }
        var rng = Xoshiro256StarStar(seed: 9)
        var mean = [Double](repeating: 0, count: lags.count)
        let n = 2000
        for _ in 0..<n {
            let r = DiffusionProcess.brownian(length: T, using: &rng).map { Float($0) }
            r.withUnsafeBufferPointer {
                PhysicsLoss.logTimeAveragedMSD($0.baseAddress!, length: T, lags: lags, out: &out)
            }
            for j in 0..<lags.count { mean[j] += exp(out[j]) / Double(n) }
        }
        // standard error of the mean TAMSD: ≈ 2τ·√(4τ/3(T−τ))/√n, under 2 % of 2τ up to τ = 150
        for (j, tau) in lags.enumerated() {
            XCTAssertEqual(mean[j] / (2 * Double(tau)), 1, accuracy: 0.05, "τ = \(tau)")
        }
    }

    /// L13 is zero for the input itself, positive for a reconstruction that returns to its start, and weighted.
    func testLongLagTerm() {
        let T = 60
        let N = 2
        var rng = Xoshiro256StarStar(seed: 10)
        let r = (0..<N).flatMap { _ in DiffusionProcess.brownian(length: T, using: &rng).map { Float($0) } }
        // the same steps, second half reversed: the walk comes back to where it started
        var back = r
        for i in 0..<N {
            for t in (T / 2)..<T { for a in 0..<2 { back[(i * T + t) * 2 + a] = r[(i * T + T - 1 - t) * 2 + a] } }
        }
        var w = LossWeights()
        w.longLagMSD = 3
        func terms(_ rh: [Float]) -> LossTerms { lossTerms(w, r, rh, length: T, batch: N) }
        XCTAssertEqual(terms(r)[.longLagMSD], 0, accuracy: 1e-12)
        let t = terms(back)
        XCTAssertGreaterThan(t[.longLagMSD], 0.05)
        XCTAssertEqual(t.total, w.total(t), accuracy: 1e-9 * t.total)
    }

    /// L14 by hand: one trajectory whose first step is twice as long in the reconstruction as in the input;
    /// a batch profile is compared, so swapping whole trajectories within the batch leaves it at 0.
    func testStepProfileTerm() {
        var w = LossWeights()
        w.stepProfile = 2
        func terms(_ r: [Float], _ rh: [Float], T: Int, N: Int) -> LossTerms {
            lossTerms(w, r, rh, length: T, batch: N)
        }
        // steps (1, 0), (0, 1) against (2, 0), (0, 1): mean squared steps 1, 1 against 4, 1 → L14 = (ln 4)²/2
        let t = terms([0, 0, 1, 0, 1, 1], [0, 0, 2, 0, 2, 1], T: 3, N: 1)
        XCTAssertEqual(t[.stepProfile], log(4.0) * log(4.0) / 2, accuracy: 1e-5)
        XCTAssertEqual(t.total, w.total(t), accuracy: 1e-9 * t.total)
        var rng = Xoshiro256StarStar(seed: 12)
        let a = DiffusionProcess.brownian(length: 30, using: &rng).map { Float($0) }
        let b = DiffusionProcess.attm(alpha: 0.5, length: 30, using: &rng).map { Float($0) }
        XCTAssertEqual(terms(a + b, b + a, T: 30, N: 2)[.stepProfile], 0, accuracy: 1e-12)
        XCTAssertGreaterThan(terms(a + b, a + a, T: 30, N: 2)[.stepProfile], 0.01)
    }

    /// L15 by hand: x-steps ±2 and y-steps ±1 (alternating, so every step's mean is 0) have log step-std ratio ln 2;
    /// an isotropic reconstruction misses it by ln 2, the transposed one by 2 ln 2; the input itself and its
    /// reflection x → −x give 0 (the ratio sees only which axis moves more). ε = 10⁻⁶ in the logarithms moves the
    /// values by ~10⁻⁶.
    func testAxisRatioTerm() {
        var w = LossWeights()
        w.axisRatio = 3
        let T = 9
        func walk(_ sx: Float, _ sy: Float, flipX: Bool = false) -> [Float] {
            var r: [Float] = [0, 0]
            for t in 1..<T {
                let sign: Float = t % 2 == 0 ? 1 : -1
                r += [r[2 * t - 2] + (flipX ? -1 : 1) * sign * sx, r[2 * t - 1] + sign * sy]
            }
            return r
        }
        let input = walk(2, 1)
        let ratio = TrajectoryStatistics(trajectory: input).logXYStepStdRatio
        XCTAssertEqual(ratio, log(2.0), accuracy: 1e-6)
        let iso = lossTerms(w, input, walk(1, 1), length: T, batch: 1)
        XCTAssertEqual(iso[.axisRatio], log(2.0) * log(2.0), accuracy: 1e-5)
        XCTAssertEqual(iso.total, w.total(iso), accuracy: 1e-9 * iso.total)
        XCTAssertEqual(
            lossTerms(w, input, walk(1, 2), length: T, batch: 1)[.axisRatio], 4 * log(2.0) * log(2.0), accuracy: 1e-5)
        XCTAssertEqual(
            lossTerms(w, input, walk(2, 1, flipX: true), length: T, batch: 1)[.axisRatio], 0, accuracy: 1e-12)
        // averaged over the batch: one matched and one isotropic trajectory
        XCTAssertEqual(
            lossTerms(w, input + input, input + walk(1, 1), length: T, batch: 2)[.axisRatio], log(2.0) * log(2.0) / 2,
            accuracy: 1e-6)
    }

    /// `MotionSummary.stepProfileVariation`: N stationary Brownian walks give ≈ 1/√N (normalised squared 2-D
    /// Gaussian steps are ≈ Exp(1)); the same walks with a 10× step at frame 5 of every walk give a large value.
    func testStepProfileVariation() {
        var rng = Xoshiro256StarStar(seed: 13)
        let N = 400
        let T = 200
        var r: [Float] = []
        for _ in 0..<N { r += DiffusionProcess.brownian(length: T, using: &rng).map { Float($0) } }
        let stationary = MotionSummary(TrajectorySet(trajectories: r, count: N, length: T)).stepProfileVariation
        XCTAssertEqual(stationary, 1 / Double(N).squareRoot(), accuracy: 0.008)
        var locked = r
        for i in 0..<N {
            let b = i * T * 2
            let dx = r[b + 12] - r[b + 10]
            let dy = r[b + 13] - r[b + 11]
            for t in 6..<T {
                locked[b + 2 * t] += 9 * dx
                locked[b + 2 * t + 1] += 9 * dy
            }
        }
        XCTAssertGreaterThan(
            MotionSummary(TrajectorySet(trajectories: locked, count: N, length: T)).stepProfileVariation, 2)
    }

    /// Checkpoints written before L12–L15 existed hold weights without them: they decode as the paper's loss.
    func testOldWeightsDecodeWithTermOff() throws {
        var json = String(decoding: try JSONEncoder().encode(LossWeights()), as: UTF8.self)
        XCTAssertTrue(json.contains("blockHeterogeneity"))
        for key in ["blockHeterogeneity", "heterogeneityBlocks", "longLagMSD", "stepProfile", "axisRatio"] {
            json = json.replacingOccurrences(of: "\"\(key)\":[0-9.]+,?", with: "", options: .regularExpression)
        }
        json = json.replacingOccurrences(of: "\"msdLags\":\\[[0-9,]*\\],?", with: "", options: .regularExpression)
        json = json.replacingOccurrences(of: ",}", with: "}")
        XCTAssertFalse(json.contains("blockHeterogeneity") || json.contains("msdLags"), json)
        let w = try JSONDecoder().decode(LossWeights.self, from: Data(json.utf8))
        XCTAssertEqual(w, LossWeights())
        XCTAssertEqual(w.blockHeterogeneity, 0)
    }
}
