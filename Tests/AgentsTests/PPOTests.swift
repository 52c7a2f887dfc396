import Foundation
import XCTest

@testable import Agents
@testable import LeonardoSim
@testable import MicroscopeGym

/// PPO: GAE and the clipped surrogate against hand computations, the whole update against finite differences,
/// learning on the chain, and an exact resume.
final class PPOTests: XCTestCase {
    func smallPPO(total: Int) -> PPOHyperparameters {
        var h = PPOHyperparameters()
        h.rolloutSteps = 64
        h.minibatches = 2
        h.hiddenSizes = [32]
        h.learningRate = 3e-3
        h.totalSteps = total
        h.gamma = 0.95
        return h
    }

    /// Checks each entry of `analytic` against the central difference of `loss` at `x` (step 10⁻³, relative
    /// tolerance 2·10⁻³); returns how many analytic entries are non-zero.
    func checkAgainstCentralDifferences(
        _ analytic: [Float], at x: inout [Float], loss: ([Float]) -> Double, label: String
    ) -> Int {
        var nonZero = 0
        for i in 0..<x.count {
            let h: Float = 1e-3
            let o = x[i]
            x[i] = o + h
            let up = loss(x)
            x[i] = o - h
            let dn = loss(x)
            x[i] = o
            let numeric = (up - dn) / Double(2 * h)
            XCTAssertEqual(Double(analytic[i]), numeric, accuracy: 2e-3 * max(1, abs(numeric)), "\(label) \(i)")
            if analytic[i] != 0 { nonZero += 1 }
        }
        return nonZero
    }

    /// Three steps, the second ending an episode by termination, the rollout cut after the third.
    func testAdvantagesMatchAHandComputation() {
        let (g, l) = (0.9, 0.8)
        let r = [1.0, 2.0, 0.5]
        let v = [0.5, 1.0, 2.0]
        let next = [0.0, 0.0, 3.0]  // only the rollout's last step bootstraps
        let a = PPOAgent.advantages(
            rewards: r, values: v, nextValues: next, terminated: [false, true, false],
            episodeEnds: [false, true, false],
            gamma: g, lambda: l)
        // t = 2: δ = 0.5 + 0.9·3 − 2 = 1.2, nothing after the cut.
        // t = 1: δ = 2 + 0 − 1 = 1 (terminated: no bootstrap, and the episode's end stops the sum).
        // t = 0: δ = 1 + 0.9·1.0 − 0.5 = 1.4; A = 1.4 + 0.9·0.8·1 = 2.12.
        XCTAssertEqual(a[2], 1.2, accuracy: 1e-12)
        XCTAssertEqual(a[1], 1.0, accuracy: 1e-12)
        XCTAssertEqual(a[0], 2.12, accuracy: 1e-12)
        // A truncated episode end bootstraps from its next state's value but still stops the sum.
        let b = PPOAgent.advantages(
            rewards: r, values: v, nextValues: [0, 4, 3], terminated: [false, false, false],
            episodeEnds: [false, true, false], gamma: g, lambda: l)
        XCTAssertEqual(b[1], 2 + 0.9 * 4 - 1, accuracy: 1e-12)
        XCTAssertEqual(b[0], 1.4 + 0.72 * b[1], accuracy: 1e-12)
    }

    /// Two actions with equal logits (π = 0.5) and π_old(a) = 0.4: the ratio is 1.25, outside 1 ± 0.2.
    func testClippedSurrogateMatchesAHandValue() {
        let logits: [Float] = [0, 0, 0, 0]
        var d = [Float](repeating: 0, count: 4)
        let old = [log(0.4), log(0.4)]
        // Sample 0: A = +1 → max(−1.25, −1.2) = −1.2, the clipped branch, no gradient.
        // Sample 1: A = −1 → max(1.25, 1.2) = 1.25, the unclipped branch: ∂L/∂log π = −A·r/B = 0.625,
        // ∂log π(a=0)/∂z = (1 − 0.5, −0.5).
        let loss = PPOAgent.clippedSurrogate(
            logits: logits, count: 2, actionCount: 2, actions: [0, 0], oldLogProbs: old, advantages: [1, -1],
            clip: 0.2, dLogits: &d)
        XCTAssertEqual(loss, (-1.2 + 1.25) / 2, accuracy: 1e-6)
        XCTAssertEqual(d[0], 0)
        XCTAssertEqual(d[1], 0)
        XCTAssertEqual(d[2], 0.3125, accuracy: 1e-6)
        XCTAssertEqual(d[3], -0.3125, accuracy: 1e-6)
    }

    func testClippedSurrogateGradientMatchesFiniteDifferences() {
        var rng = Xoshiro256StarStar(seed: 4)
        let B = 6
        let K = 4
        var z = (0..<(B * K)).map { _ in Float(0.5 * rng.normal()) }
        let actions = (0..<B).map { _ in rng.uniformInt(K) }
        let old = (0..<B).map { _ in log(0.25) + 0.3 * rng.normal() }
        let adv = (0..<B).map { _ in rng.normal() }
        var d = [Float](repeating: 0, count: B * K)
        func loss(_ z: [Float]) -> Double {
            var scratch = [Float](repeating: 0, count: B * K)
            return PPOAgent.clippedSurrogate(
                logits: z, count: B, actionCount: K, actions: actions, oldLogProbs: old, advantages: adv, clip: 0.2,
                dLogits: &scratch)
        }
        _ = PPOAgent.clippedSurrogate(
            logits: z, count: B, actionCount: K, actions: actions, oldLogProbs: old, advantages: adv, clip: 0.2,
            dLogits: &d)
        let checked = checkAgainstCentralDifferences(d, at: &z, loss: loss, label: "logit")
        // Both branches occur: clipped samples (zero gradient) and unclipped ones.
        XCTAssertGreaterThan(checked, 0, "some gradients are non-zero: the check is not vacuous")
        XCTAssertLessThan(checked, B * K, "some samples are clipped")
    }

    /// The Gaussian surrogate's gradients with respect to the means and the shared log standard deviations, against
    /// central differences, with clipped and unclipped samples.
    func testGaussianSurrogateGradientMatchesFiniteDifferences() {
        var rng = Xoshiro256StarStar(seed: 8)
        let B = 8
        let D = 2
        var means = (0..<(B * D)).map { _ in Float(0.5 * rng.normal()) }
        let logStd = [-0.3, 0.2]
        let samples = (0..<(B * D)).map { i in Double(means[i]) + 0.8 * rng.normal() }
        let adv = (0..<B).map { _ in rng.normal() }
        // Old log-probabilities near the current ones, so that some ratios fall inside 1 ± ε and some outside.
        let old = (0..<B).map { i in
            (0..<D).reduce(0.0) {
                $0
                    + PPOAgent.gaussianLogDensity(
                        samples[i * D + $1], mean: Double(means[i * D + $1]), logStd: logStd[$1])
            } + 0.4 * rng.normal()
        }
        func loss(_ m: [Float], _ ls: [Double]) -> Double {
            var scratch = [Float](repeating: 0, count: B * D)
            var dls = [0.0, 0.0]
            return PPOAgent.gaussianClippedSurrogate(
                means: m, count: B, dimensions: D, logStd: ls, samples: samples, oldLogProbs: old, advantages: adv,
                clip: 0.2, dMeans: &scratch, dLogStd: &dls)
        }
        var dMeans = [Float](repeating: 0, count: B * D)
        var dLogStd = [0.0, 0.0]
        _ = PPOAgent.gaussianClippedSurrogate(
            means: means, count: B, dimensions: D, logStd: logStd, samples: samples, oldLogProbs: old,
            advantages: adv, clip: 0.2, dMeans: &dMeans, dLogStd: &dLogStd)
        let nonZero = checkAgainstCentralDifferences(dMeans, at: &means, loss: { loss($0, logStd) }, label: "mean")
        XCTAssertGreaterThan(nonZero, 0, "some samples are unclipped")
        XCTAssertLessThan(nonZero, B * D, "some samples are clipped")
        for k in 0..<D {
            let h = 1e-5
            var up = logStd
            up[k] += h
            var dn = logStd
            dn[k] -= h
            let numeric = (loss(means, up) - loss(means, dn)) / (2 * h)
            XCTAssertEqual(dLogStd[k], numeric, accuracy: 1e-5 * max(1, abs(numeric)), "log std \(k)")
        }
        // The log density itself against the closed form.
        XCTAssertEqual(
            PPOAgent.gaussianLogDensity(1.5, mean: 0.5, logStd: log(2)), -0.125 - log(2) - 0.5 * log(2 * Double.pi),
            accuracy: 1e-12)
    }

    /// Continuous PPO on a one-step task whose reward is highest at one setting: after training, the greedy setting
    /// (the Gaussian's mean) lies near it, and the policy's spread has shrunk.
    func testContinuousPPOFindsTheBestSetting() throws {
        var h = smallPPO(total: 8_192)
        h.continuousActions = true
        h.environments = 8
        h.rolloutSteps = 256
        h.minibatches = 4
        h.gamma = 0
        h.entropyCoefficient = 0
        let grid: [(doseRate: Double, frameRate: Double)] = [(1, 3), (1, 30), (100, 3), (100, 30)]
        let agent = try PPOAgent(
            observationSize: 2, actionCount: 4, hyper: h, seed: 3, settingRanges: [1, 100, 3, 30], grid: grid)
        // Best at 10 e⁻/Å²/s (the log middle of 1…100) and 6 frames/s; reward −(Δ log₁₀)².
        let target = (log10(10.0), log10(6.0))
        var rng = Xoshiro256StarStar(seed: 11)
        func observation() -> [Float] { [Float(rng.normal()), 1] }
        var obs = (0..<8).map { _ in observation() }
        for _ in 0..<(8_192 / 8) {
            let chosen = agent.act(batch: obs, explore: true)
            let rewards = chosen.map {
                -pow(log10($0.doseRate) - target.0, 2) - pow(log10($0.frameRate) - target.1, 2) * 4
            }
            let next = (0..<8).map { _ in observation() }
            _ = agent.observe(
                batch: obs, rewards: rewards, terminated: [Bool](repeating: true, count: 8),
                done: [Bool](repeating: true, count: 8), nextObservations: next, actions: chosen.map(\.action))
            obs = next
        }
        let s = try XCTUnwrap(agent.setting([0, 1], explore: false))
        XCTAssertEqual(log10(s.doseRate), target.0, accuracy: 0.12, "dose rate \(s.doseRate)")
        XCTAssertEqual(log10(s.frameRate), target.1, accuracy: 0.08, "frame rate \(s.frameRate)")
        let logStd = agent.network.parameters.value(agent.network.parameters.ref(named: "log_std")!)
        XCTAssertLessThan(logStd[0], -0.5, "the spread shrinks as the mean settles")
        // act() returns the grid action nearest to the setting in log coordinates: (1, 3) for (10, 6) here.
        XCTAssertEqual(agent.nearestAction((doseRate: 2, frameRate: 4)), 0)
        XCTAssertEqual(agent.nearestAction((doseRate: 50, frameRate: 20)), 3)
        // The policy file keeps the ranges, the grid and log σ: the loaded policy chooses the same settings.
        let path = NSTemporaryDirectory() + "ppo-continuous-\(UUID().uuidString).h5"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try agent.save(to: path)
        let loaded = try PPOAgent.load(path)
        XCTAssertEqual(loaded.hyper, agent.hyper)
        XCTAssertEqual(loaded.grid, agent.grid)
        for x in [-1.0, 0, 0.7] {
            let a = try XCTUnwrap(agent.setting([Float(x), 1], explore: false))
            let b = try XCTUnwrap(loaded.setting([Float(x), 1], explore: false))
            XCTAssertEqual(a.doseRate, b.doseRate)
            XCTAssertEqual(a.frameRate, b.frameRate)
        }
    }

    /// A continuous policy's evaluation applies its own setting (between the grid's), and a recording holds it.
    func testEvaluationAppliesAContinuousAgentsSetting() throws {
        let cell = try tinyLiquidCell()
        var h = PPOHyperparameters()
        (h.rolloutSteps, h.minibatches, h.hiddenSizes, h.continuousActions) = (32, 2, [8], true)
        var agent = try PPOAgent(
            observationSize: Evaluation.observationSize, actionCount: cell.actionSpace.n, hyper: h, seed: 4,
            settingRanges: cell.spec.doseRateRange + cell.spec.frameRateRange,
            grid: (0..<cell.actionSpace.n).map { cell.setting(for: $0) })
        var recording: EpisodeRecording? = EpisodeRecording(environment: cell, agent: "ppo")
        _ = try Evaluation.run(&agent, environment: cell, seeds: [3_000_000], recording: &recording)
        let r = try XCTUnwrap(recording)
        XCTAssertFalse(r.doseRate.isEmpty)
        let onGrid = Set(cell.spec.doseRates)
        XCTAssertTrue(r.doseRate.contains { !onGrid.contains($0) }, "settings between the grid's: \(r.doseRate)")
        for d in r.doseRate {
            XCTAssertTrue(d >= cell.spec.doseRateRange[0] && d <= cell.spec.doseRateRange[1])
        }
    }

    /// Hyper-parameters written before the vector and continuous fields existed decode as one discrete environment.
    func testOldHyperparametersDecodeAsOneDiscreteEnvironment() throws {
        var h = PPOHyperparameters()
        h.environments = 8
        h.continuousActions = true
        var object = try XCTUnwrap(
            JSONSerialization.jsonObject(with: try JSONEncoder().encode(h)) as? [String: Any])
        for key in ["environments", "continuousActions", "initialLogStd"] { object.removeValue(forKey: key) }
        let old = try JSONDecoder().decode(
            PPOHyperparameters.self, from: try JSONSerialization.data(withJSONObject: object))
        XCTAssertEqual(old.environments, 1)
        XCTAssertFalse(old.continuousActions)
        XCTAssertEqual(old.rolloutSteps, h.rolloutSteps)
    }

    func testLearnsTheChain() throws {
        var agent = try PPOAgent(observationSize: 7, actionCount: 2, hyper: smallPPO(total: 6_000), seed: 2)
        XCTAssertNil(try greedySteps(&agent), "an untrained network should not already solve the chain")
        try train(&agent, steps: 6_000)
        XCTAssertEqual(try greedySteps(&agent), 6, "the greedy policy walks straight to the goal")
        XCTAssertEqual(agent.updates, 6_000 / 64)
    }

    func testRefusesBadHyperparametersByName() {
        let cases: [(String, (inout PPOHyperparameters) -> Void)] = [
            ("minibatches", { $0.minibatches = 0 }),
            ("clip-coefficient", { $0.clipCoefficient = 1.5 }),
            ("multiple of --ppo-envs", { $0.environments = 3 }),
            // A continuous agent needs the spec's ranges (none given here).
            ("ranges", { $0.continuousActions = true })
        ]
        for (name, spoil) in cases {
            var h = PPOHyperparameters()
            spoil(&h)
            XCTAssertThrowsError(try PPOAgent(observationSize: 3, actionCount: 2, hyper: h, seed: 1)) {
                XCTAssertTrue("\($0)".contains(name), "\($0)")
            }
        }
    }

    /// Interrupted mid-rollout (the checkpoint holds a partly filled rollout), saved, loaded, continued: the same
    /// network, bit for bit, as an uninterrupted run, and the same greedy actions.
    func testResumeContinuesBitForBit() throws {
        let hyper = smallPPO(total: 300)
        let straight = try PPOAgent(observationSize: 7, actionCount: 2, hyper: hyper, seed: 5)
        var env = TimeLimit(Chain(), maxSteps: 30)
        func run(_ agent: PPOAgent, steps: Range<Int>, env: inout TimeLimit<Chain>, obs: inout [Float]) throws {
            for _ in steps {
                let a = agent.act(obs, explore: true)
                let s = try env.step(a)
                _ = agent.observe(
                    Transition(
                        observation: obs, action: a, reward: s.reward, nextObservation: s.observation,
                        terminated: s.terminated, done: s.done))
                obs = s.observation
                if s.done { (obs, _) = try env.reset(seed: nil) }
            }
        }
        var o = try env.reset(seed: 0).0
        try run(straight, steps: 0..<300, env: &env, obs: &o)

        var env2 = TimeLimit(Chain(), maxSteps: 30)
        var o2 = try env2.reset(seed: 0).0
        let first = try PPOAgent(observationSize: 7, actionCount: 2, hyper: hyper, seed: 5)
        try run(first, steps: 0..<150, env: &env2, obs: &o2)
        XCTAssertGreaterThan(first.filled, 0, "the checkpoint is taken mid-rollout")
        let path = NSTemporaryDirectory() + "ppo-\(UUID().uuidString).h5"
        defer { unlink(path) }
        try first.saveCheckpoint(to: path)
        let resumed = try PPOAgent.load(path)
        try run(resumed, steps: 150..<300, env: &env2, obs: &o2)
        XCTAssertEqual(resumed.updates, straight.updates)
        let n = straight.network.parameters.count
        let a = Array(UnsafeBufferPointer(start: straight.network.parameters.values, count: n))
        let b = Array(UnsafeBufferPointer(start: resumed.network.parameters.values, count: n))
        XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern))
        // A policy file (not a checkpoint) loads as a policy with the same greedy actions.
        try straight.save(to: path)
        let policy = try PPOAgent.load(path)
        for s in 0..<7 {
            let x = (0..<7).map { $0 == s ? Float(1) : 0 }
            XCTAssertEqual(policy.act(x, explore: false), straight.act(x, explore: false))
        }
    }
}
