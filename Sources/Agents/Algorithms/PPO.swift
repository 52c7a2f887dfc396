import Foundation
import LeonardoSim
import MicroscopeGym

/// Proximal policy optimisation (Schulman et al., arXiv:1707.06347, 2017) with generalised advantage estimation
/// (Schulman et al., ICLR 2016): clipped surrogate objective, clipped value loss, entropy bonus, minibatch epochs over
/// each rollout, advantage normalisation per minibatch, global gradient-norm clipping and a linearly annealed learning
/// rate. Follows CleanRL's `ppo.py` (Huang et al., JMLR 23, 2022); defaults are its values except where noted.
public struct PPOHyperparameters: Codable, Equatable, Sendable {
    /// Adam learning rate (CleanRL 2.5e-4), annealed linearly to 0 over the updates when `annealLearningRate`.
    public var learningRate: Float = 2.5e-4
    public var annealLearningRate = true
    /// Environment steps per rollout (CleanRL 4 environments × 128 steps = 512).
    public var rolloutSteps = 512
    /// Discount γ and GAE λ (CleanRL 0.99, 0.95).
    public var gamma = 0.99
    public var gaeLambda = 0.95
    /// Minibatches per rollout and epochs over it (CleanRL 4, 4).
    public var minibatches = 4
    public var updateEpochs = 4
    /// Clip range ε of the probability ratio and of the value update (CleanRL 0.2).
    public var clipCoefficient = 0.2
    public var clipValueLoss = true
    /// Entropy bonus and value-loss coefficients (CleanRL 0.01, 0.5).
    public var entropyCoefficient = 0.01
    public var valueCoefficient = 0.5
    /// Global gradient-norm clip (CleanRL 0.5).
    public var maxGradNorm = 0.5
    /// Normalise advantages within each minibatch (CleanRL true).
    public var normalizeAdvantages = true
    /// Hidden layer widths of the shared actor–critic body (CleanRL 64, 64 with separate bodies and tanh; here one
    /// ReLU body with a policy head of one logit per action and a value head).
    public var hiddenSizes = [64, 64]
    /// Total training steps (sets the annealing of the learning rate).
    public var totalSteps = 20_000
    /// Environments stepped together (one batched decoder call per step); `rolloutSteps` counts the steps of all of
    /// them, `rolloutSteps / environments` each, and must be a multiple of this.
    public var environments = 1
    /// A Gaussian policy over (log₁₀ dose rate, log₁₀ frame rate) inside the spec's continuous ranges (CleanRL's
    /// `ppo_continuous_action.py`: state-independent log standard deviations, the sample clipped to the range by the
    /// environment) instead of one logit per grid setting.
    public var continuousActions = false
    /// The Gaussian's initial log standard deviation, in units of half the range (CleanRL 0: σ = half the range).
    public var initialLogStd: Float = 0
    public init() {}

    /// The defaults of `gym-runner train --agent ppo` (and of a `RunConfiguration`): CleanRL's, except 8 environments
    /// per rollout (64 steps each) and a learning rate of 2.5e-3, chosen on the tuning seeds (4,000,000 + i, never
    /// the test seeds) of LiquidCell-v2, BeamSensitive-v1 and DoseBudget-v1 at 10,000 steps among six candidates
    /// (docs/experiments/2026-12-07-ppo-at-scale.md). `PPOHyperparameters()` stays CleanRL's with one environment, so
    /// that any one-environment `Agent` loop can drive it.
    public static let benchmark: PPOHyperparameters = {
        var h = PPOHyperparameters()
        h.learningRate = 2.5e-3
        h.environments = 8
        return h
    }()

    /// Decodes hyper-parameters, taking each missing field as the value that files written before it existed meant
    /// (one environment, discrete actions), so older policy files and checkpoints still load.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = PPOHyperparameters()
        func get<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T {
            try c.decodeIfPresent(T.self, forKey: key) ?? fallback
        }
        learningRate = try get(.learningRate, d.learningRate)
        annealLearningRate = try get(.annealLearningRate, d.annealLearningRate)
        rolloutSteps = try get(.rolloutSteps, d.rolloutSteps)
        gamma = try get(.gamma, d.gamma)
        gaeLambda = try get(.gaeLambda, d.gaeLambda)
        minibatches = try get(.minibatches, d.minibatches)
        updateEpochs = try get(.updateEpochs, d.updateEpochs)
        clipCoefficient = try get(.clipCoefficient, d.clipCoefficient)
        clipValueLoss = try get(.clipValueLoss, d.clipValueLoss)
        entropyCoefficient = try get(.entropyCoefficient, d.entropyCoefficient)
        valueCoefficient = try get(.valueCoefficient, d.valueCoefficient)
        maxGradNorm = try get(.maxGradNorm, d.maxGradNorm)
        normalizeAdvantages = try get(.normalizeAdvantages, d.normalizeAdvantages)
        hiddenSizes = try get(.hiddenSizes, d.hiddenSizes)
        totalSteps = try get(.totalSteps, d.totalSteps)
        environments = try get(.environments, 1)
        continuousActions = try get(.continuousActions, false)
        initialLogStd = try get(.initialLogStd, d.initialLogStd)
    }

    /// Checks every value; the error names the field.
    public func validate() throws {
        func need(_ ok: Bool, _ field: String, _ what: String) throws {
            if !ok { throw AgentError.incompatible("PPO: \(field) \(what)") }
        }
        try need(learningRate > 0 && learningRate <= 1, "learning-rate", "is \(learningRate); it must lie in (0, 1]")
        try need(rolloutSteps >= 2 && rolloutSteps <= 1_000_000, "rollout-steps", "must lie in 2 … 10⁶")
        try need(gamma >= 0 && gamma <= 1, "gamma", "must lie in [0, 1]")
        try need(gaeLambda >= 0 && gaeLambda <= 1, "gae-lambda", "must lie in [0, 1]")
        try need(minibatches >= 1 && minibatches <= rolloutSteps, "minibatches", "must lie in 1 … rollout-steps")
        try need(updateEpochs >= 1 && updateEpochs <= 1000, "update-epochs", "must lie in 1 … 1000")
        try need(clipCoefficient > 0 && clipCoefficient < 1, "clip-coefficient", "must lie in (0, 1)")
        try need(entropyCoefficient >= 0 && entropyCoefficient <= 10, "entropy-coefficient", "must lie in [0, 10]")
        try need(valueCoefficient >= 0 && valueCoefficient <= 100, "value-coefficient", "must lie in [0, 100]")
        try need(maxGradNorm >= 0 && maxGradNorm.isFinite, "max-grad-norm", "must be ≥ 0 and finite")
        try need(
            !hiddenSizes.isEmpty && hiddenSizes.count <= 16 && hiddenSizes.allSatisfy { $0 >= 1 && $0 <= 65_536 },
            "hidden-sizes", "must be 1 … 16 layers of 1 … 65,536 units")
        try need(totalSteps >= 1, "total-steps", "must be positive")
        try need(environments >= 1 && environments <= 4096, "envs", "is \(environments); it must lie in 1 … 4096")
        try need(
            rolloutSteps % environments == 0, "rollout-steps",
            "is \(rolloutSteps); it must be a multiple of --ppo-envs (\(environments))")
        try need(initialLogStd >= -10 && initialLogStd <= 2, "initial-log-std", "must lie in [-10, 2]")
    }
}

/// The state of the environments a vector rollout runs in, kept in the agent's checkpoint so that a resumed session
/// continues exactly: each copy's `LiquidCellState` (encoded), its current observation as the agent sees it, and its
/// episode's return and length so far.
public struct VectorRolloutState: Equatable, Sendable {
    public var states: [[UInt8]]
    public var observations: [[Float]]
    public var returns: [Double]
    public var lengths: [Int]
    /// The index of the next training episode to start.
    public var nextEpisode: Int
    public init(
        states: [[UInt8]], observations: [[Float]], returns: [Double], lengths: [Int], nextEpisode: Int
    ) {
        (self.states, self.observations) = (states, observations)
        (self.returns, self.lengths, self.nextEpisode) = (returns, lengths, nextEpisode)
    }
}

/// PPO on vector observations, with one logit per `Discrete` action or (`continuousActions`) a Gaussian policy over
/// the continuous setting (log₁₀ dose rate, log₁₀ frame rate). Acting samples from the policy (`explore`) or takes
/// its most probable action (the Gaussian's mean); `observe` (one environment) or `observe(batch:)` (a vector
/// rollout, `hyper.environments` at a time) fills the rollout, and a full rollout is learned from at once.
/// Observations are standardised with statistics of the first rollout, then frozen (as DQN's before learning
/// starts).
public final class PPOAgent: ResumableAgent {
    public let name = "ppo"
    public let hyper: PPOHyperparameters
    public let observationSize: Int, actionCount: Int
    /// Continuous agents: the setting ranges [dose min, dose max, frame min, frame max] (e⁻/Å²/s, frames/s).
    public let settingRanges: [Double]
    /// Continuous agents: the environment's grid, (dose rate, frame rate) of each discrete action in turn.
    public let grid: [Double]
    /// Outputs of the policy head: actionCount logits, or 2 Gaussian means (in units of half the log range, centred).
    public let policyOutputs: Int
    /// The actor–critic: the policy outputs, then the value; continuous agents also hold `log_std` (2 values).
    public let network: MLP
    let logStd: ParameterRef?
    let optimizer: Adam
    public private(set) var normalizer: ObservationNormalizer
    public private(set) var step = 0
    public private(set) var updates = 0
    var rng: Xoshiro256StarStar
    /// The environments of a vector rollout, set by the training session before each checkpoint (nil otherwise).
    public var vectorState: VectorRolloutState?
    // The rollout, row t·N + e for step t of environment e: raw observations, actions (discrete) or Gaussian samples
    // (continuous, 2 a row), log-probabilities and values when acting, rewards, terminations, episode ends, and the
    // raw next observation where the rollout or an episode is cut without termination (GAE bootstraps there).
    var observations: [Float], actions: [Int32], samples: [Float], logProbs: [Float], values: [Float]
    var rewards: [Float], terminated: [Bool], episodeEnds: [Bool], nextObservations: [Float]
    var filled = 0
    // What `act` saw for the transitions `observe` will receive (one per environment).
    var lastLogProbs: [Float], lastValues: [Float], lastSamples: [Float]
    // Scratch: observations, a minibatch's inputs, logits and their gradients, output gradients, log-probabilities.
    let input: FloatBuffer, minibatch: FloatBuffer, logits: FloatBuffer, dLogits: FloatBuffer, dOut: FloatBuffer
    let logpScratch: UnsafeMutablePointer<Double>

    /// - Parameters:
    ///   - settingRanges: for continuous agents, [dose rate min, max, frame rate min, max] of the spec.
    ///   - grid: for continuous agents, the (dose rate, frame rate) of each of the `actionCount` grid actions.
    public init(
        observationSize: Int, actionCount: Int, hyper: PPOHyperparameters = PPOHyperparameters(), seed: UInt64,
        settingRanges: [Double] = [], grid: [(doseRate: Double, frameRate: Double)] = []
    ) throws {
        try hyper.validate()
        guard observationSize >= 1, actionCount >= 2 else {
            throw AgentError.incompatible("PPO needs observations and at least 2 actions")
        }
        if hyper.continuousActions {
            guard settingRanges.count == 4, settingRanges.allSatisfy({ $0 > 0 && $0.isFinite }),
                settingRanges[0] < settingRanges[1], settingRanges[2] < settingRanges[3]
            else {
                throw AgentError.incompatible(
                    "continuous PPO needs positive dose-rate and frame-rate ranges, got \(settingRanges)")
            }
            guard grid.count == actionCount, grid.allSatisfy({ $0.doseRate > 0 && $0.frameRate > 0 }) else {
                throw AgentError.incompatible(
                    "continuous PPO needs the \(actionCount) grid settings, got \(grid.count)")
            }
        }
        self.hyper = hyper
        self.observationSize = observationSize
        self.actionCount = actionCount
        self.settingRanges = hyper.continuousActions ? settingRanges : []
        self.grid = hyper.continuousActions ? grid.flatMap { [$0.doseRate, $0.frameRate] } : []
        policyOutputs = hyper.continuousActions ? 2 : actionCount
        network = MLP(
            sizes: [observationSize] + hyper.hiddenSizes + [policyOutputs + 1], seed: seed,
            extra: hyper.continuousActions ? [("log_std", 2, hyper.initialLogStd)] : [])
        logStd = network.parameters.ref(named: "log_std")
        optimizer = Adam(network.parameters, learningRate: hyper.learningRate)
        normalizer = ObservationNormalizer(dimension: observationSize)
        rng = Xoshiro256StarStar(seed: seed ^ 0x9090)
        let n = hyper.rolloutSteps
        let N = hyper.environments
        observations = [Float](repeating: 0, count: n * observationSize)
        actions = [Int32](repeating: 0, count: n)
        samples = [Float](repeating: 0, count: hyper.continuousActions ? 2 * n : 0)
        logProbs = [Float](repeating: 0, count: n)
        values = logProbs
        rewards = logProbs
        nextObservations = observations
        terminated = [Bool](repeating: false, count: n)
        episodeEnds = terminated
        lastLogProbs = [Float](repeating: 0, count: N)
        lastValues = lastLogProbs
        lastSamples = [Float](repeating: 0, count: 2 * N)
        let size = n / hyper.minibatches
        input = FloatBuffer(count: max(N, size) * observationSize)
        minibatch = FloatBuffer(count: size * observationSize)
        logits = FloatBuffer(count: size * policyOutputs)
        dLogits = FloatBuffer(count: size * policyOutputs)
        dOut = FloatBuffer(count: size * (policyOutputs + 1))
        logpScratch = .allocate(capacity: max(actionCount, 2))
    }

    /// True when training needs the vector loop (`TrainingSession` switches to it): several environments, or
    /// continuous actions (which the one-environment `Agent` loop cannot apply).
    public var needsVectorRollout: Bool { hyper.environments > 1 || hyper.continuousActions }

    /// The network's outputs for `rows` observations in `input` (normalised into it), acting on each: chooses and
    /// remembers row r's action (`actions[r]` for discrete agents, the sample in `lastSamples` for continuous ones),
    /// log-probability and value.
    func choose(rows: Int, explore: Bool, into chosen: inout [Int]) {
        let out = network.forward(input.pointer, rows: rows)
        let O = policyOutputs + 1
        for r in 0..<rows {
            let row = out + r * O
            if hyper.continuousActions {
                var logp = 0.0
                for k in 0..<2 {
                    let mu = Double(row[k])
                    let ls = Double(network.parameters.value(logStd!)[k])
                    let u = explore ? mu + Foundation.exp(ls) * rng.normal() : mu
                    lastSamples[2 * r + k] = Float(u)
                    logp += PPOAgent.gaussianLogDensity(Double(Float(u)), mean: mu, logStd: ls)
                }
                lastLogProbs[r] = Float(logp)
                chosen[r] = -1
            } else {
                PPOAgent.logSoftmax(row, count: actionCount, into: logpScratch)
                var action = 0
                if explore {
                    // Inverse-CDF sampling with the agent's own generator.
                    let u = rng.uniform()
                    var acc = 0.0
                    action = actionCount - 1
                    for a in 0..<actionCount {
                        acc += Foundation.exp(logpScratch[a])
                        if u < acc {
                            action = a
                            break
                        }
                    }
                } else {
                    for a in 1..<actionCount where row[a] > row[action] { action = a }
                }
                lastLogProbs[r] = Float(logpScratch[action])
                chosen[r] = action
            }
            lastValues[r] = row[policyOutputs]
        }
    }

    public func act(_ observation: [Float], explore: Bool) -> Int {
        precondition(
            observation.count == observationSize,
            "observation has \(observation.count) values, the network expects \(observationSize)")
        normalizer.apply(observation, into: input.pointer)
        var chosen = [0]
        choose(rows: 1, explore: explore, into: &chosen)
        if hyper.continuousActions { return nearestAction(setting(sample: 0)) }
        return chosen[0]
    }

    /// Continuous agents: the setting for `observation` (the Gaussian's mean when not exploring) and the grid action
    /// nearest to it; nil for discrete agents.
    public func setting(_ observation: [Float], explore: Bool) -> (doseRate: Double, frameRate: Double, action: Int)? {
        guard hyper.continuousActions else { return nil }
        let action = act(observation, explore: explore)
        let s = setting(sample: 0)
        return (s.doseRate, s.frameRate, action)
    }

    /// Acts in every environment of a vector rollout (one forward pass over their observations): the discrete actions,
    /// or for continuous agents the settings. `observe(batch:)` then takes the transitions in the same order.
    public func act(batch observations: [[Float]], explore: Bool) -> [(
        action: Int, doseRate: Double, frameRate: Double
    )] {
        precondition(observations.count == hyper.environments, "one observation per environment")
        for (r, o) in observations.enumerated() {
            precondition(o.count == observationSize, "observation \(r) has \(o.count) values")
            normalizer.apply(o, into: input.pointer + r * observationSize)
        }
        var chosen = [Int](repeating: 0, count: observations.count)
        choose(rows: observations.count, explore: explore, into: &chosen)
        return (0..<observations.count).map { r in
            if hyper.continuousActions {
                let s = setting(sample: r)
                return (nearestAction(s), s.doseRate, s.frameRate)
            }
            return (chosen[r], .nan, .nan)
        }
    }

    /// The setting of remembered sample `r`: each coordinate clipped to [−1, 1] and mapped onto the log range.
    func setting(sample r: Int) -> (doseRate: Double, frameRate: Double) {
        func map(_ u: Float, _ low: Double, _ high: Double) -> Double {
            let c = Double(min(1, max(-1, u)))
            let v = Foundation.pow(10, log10(low) + (c + 1) / 2 * (log10(high) - log10(low)))
            return min(high, max(low, v))
        }
        return (
            map(lastSamples[2 * r], settingRanges[0], settingRanges[1]),
            map(lastSamples[2 * r + 1], settingRanges[2], settingRanges[3])
        )
    }

    /// The grid action nearest to a setting in log₁₀ coordinates (what a continuous agent's `act` returns, and what
    /// evaluations count it as choosing).
    public func nearestAction(_ s: (doseRate: Double, frameRate: Double)) -> Int {
        var best = 0
        var bestDistance = Double.infinity
        for a in 0..<(grid.count / 2) {
            let dd = log10(s.doseRate) - log10(grid[2 * a])
            let df = log10(s.frameRate) - log10(grid[2 * a + 1])
            if dd * dd + df * df < bestDistance { (best, bestDistance) = (a, dd * dd + df * df) }
        }
        return best
    }

    public func observe(_ t: Transition) -> [String: Double] {
        precondition(!needsVectorRollout, "a vector or continuous PPO agent learns through observe(batch:)")
        return store(
            row: 0, observation: t.observation, reward: t.reward, terminated: t.terminated, done: t.done,
            nextObservation: t.nextObservation, action: t.action)
    }

    /// Takes one step of every environment of a vector rollout, in the order `act(batch:)` acted: the observations
    /// acted on, the rewards, whether each episode terminated (no bootstrapping) or ended, and each next observation
    /// (for an ended episode its last one). Learns when the rollout is full and returns its metrics.
    public func observe(
        batch observations: [[Float]], rewards: [Double], terminated: [Bool], done: [Bool],
        nextObservations: [[Float]], actions: [Int]
    ) -> [String: Double] {
        let N = hyper.environments
        precondition(
            [observations.count, rewards.count, terminated.count, done.count, nextObservations.count, actions.count]
                .allSatisfy { $0 == N })
        var metrics: [String: Double] = [:]
        for e in 0..<N {
            metrics = store(
                row: e, observation: observations[e], reward: rewards[e], terminated: terminated[e], done: done[e],
                nextObservation: nextObservations[e], action: actions[e])
        }
        return metrics
    }

    /// Stores one transition of environment `row` in the next rollout row; learns when full.
    func store(
        row e: Int, observation: [Float], reward: Double, terminated term: Bool, done: Bool,
        nextObservation: [Float], action: Int
    ) -> [String: Double] {
        step += 1
        if updates == 0 { normalizer.update(observation) }
        let i = filled
        for j in 0..<observationSize { observations[i * observationSize + j] = observation[j] }
        actions[i] = Int32(max(action, 0))
        if hyper.continuousActions {
            (samples[2 * i], samples[2 * i + 1]) = (lastSamples[2 * e], lastSamples[2 * e + 1])
        }
        logProbs[i] = lastLogProbs[e]
        values[i] = lastValues[e]
        rewards[i] = Float(reward)
        terminated[i] = term
        episodeEnds[i] = done
        filled += 1
        for j in 0..<observationSize { nextObservations[i * observationSize + j] = nextObservation[j] }
        guard filled == hyper.rolloutSteps else { return [:] }
        let metrics = learn()
        filled = 0
        return metrics
    }

    public func endEpisode(return: Double) {}

    deinit { logpScratch.deallocate() }

    // MARK: The algorithm

    /// log softmax of K logits, computed stably in double precision, into `out`.
    static func logSoftmax(_ z: UnsafePointer<Float>, count K: Int, into out: UnsafeMutablePointer<Double>) {
        var m = Double(z[0])
        for k in 1..<K { m = max(m, Double(z[k])) }
        var sum = 0.0
        for k in 0..<K { sum += Foundation.exp(Double(z[k]) - m) }
        let lz = m + Foundation.log(sum)
        for k in 0..<K { out[k] = Double(z[k]) - lz }
    }

    /// Generalised advantage estimates: δ_t = r_t + γ V'_t (1 − term_t) − V_t with V'_t the value of the next state
    /// (V_{t+1} inside an episode, `nextValues[t]` where the rollout or the episode is cut), and
    /// A_t = δ_t + γλ (1 − end_t) A_{t+1}, accumulated backwards from the rollout's end.
    public static func advantages(
        rewards: [Double], values: [Double], nextValues: [Double], terminated: [Bool], episodeEnds: [Bool],
        gamma: Double, lambda: Double
    ) -> [Double] {
        let n = rewards.count
        var a = [Double](repeating: 0, count: n)
        var next = 0.0
        for t in stride(from: n - 1, through: 0, by: -1) {
            let isLast = t == n - 1
            let vNext = (isLast || episodeEnds[t]) ? nextValues[t] : values[t + 1]
            let delta = rewards[t] + gamma * vNext * (terminated[t] ? 0 : 1) - values[t]
            let carry = (isLast || episodeEnds[t]) ? 0 : next
            a[t] = delta + gamma * lambda * carry
            next = a[t]
        }
        return a
    }

    /// The clipped surrogate policy loss L = mean_i max(−A_i r_i, −A_i clip(r_i, 1 − ε, 1 + ε)), r_i =
    /// exp(log π(a_i) − log π_old(a_i)), for logits (B × K); returns L and ∂L/∂logits. Where the clipped branch is the
    /// larger one and r lies outside [1 − ε, 1 + ε], the gradient is 0.
    public static func clippedSurrogate(
        logits: UnsafePointer<Float>, count B: Int, actionCount K: Int, actions: [Int], oldLogProbs: [Double],
        advantages: [Double], clip: Double, dLogits: UnsafeMutablePointer<Float>
    ) -> Double {
        let logp = UnsafeMutablePointer<Double>.allocate(capacity: K)
        defer { logp.deallocate() }
        var loss = 0.0
        for i in 0..<B {
            logSoftmax(logits + i * K, count: K, into: logp)
            let ratio = Foundation.exp(logp[actions[i]] - oldLogProbs[i])
            let unclipped = -advantages[i] * ratio
            let clipped = -advantages[i] * min(max(ratio, 1 - clip), 1 + clip)
            loss += max(unclipped, clipped)
            let dLogp = unclipped >= clipped ? -advantages[i] * ratio / Double(B) : 0
            for k in 0..<K { dLogits[i * K + k] = Float(dLogp * ((k == actions[i] ? 1 : 0) - Foundation.exp(logp[k]))) }
        }
        return loss / Double(B)
    }

    /// log N(u; μ, σ²) with σ = exp(logStd).
    @inline(__always)
    public static func gaussianLogDensity(_ u: Double, mean: Double, logStd: Double) -> Double {
        let z = (u - mean) * Foundation.exp(-logStd)
        return -0.5 * z * z - logStd - 0.5 * Foundation.log(2 * Double.pi)
    }

    /// The clipped surrogate (as `clippedSurrogate`) for a diagonal Gaussian policy over D coordinates: means (B × D),
    /// log standard deviations shared by all rows (D), samples (B × D). Returns L; writes ∂L/∂means into `dMeans` and
    /// adds ∂L/∂logStd into `dLogStd`. With z = (u − μ)/σ: ∂log π/∂μ = z/σ, ∂log π/∂log σ = z² − 1.
    public static func gaussianClippedSurrogate(
        means: UnsafePointer<Float>, count B: Int, dimensions D: Int, logStd: [Double], samples: [Double],
        oldLogProbs: [Double], advantages: [Double], clip: Double, dMeans: UnsafeMutablePointer<Float>,
        dLogStd: inout [Double]
    ) -> Double {
        var loss = 0.0
        for i in 0..<B {
            var logp = 0.0
            for k in 0..<D {
                logp += gaussianLogDensity(samples[i * D + k], mean: Double(means[i * D + k]), logStd: logStd[k])
            }
            let ratio = Foundation.exp(logp - oldLogProbs[i])
            let unclipped = -advantages[i] * ratio
            let clipped = -advantages[i] * min(max(ratio, 1 - clip), 1 + clip)
            loss += max(unclipped, clipped)
            let dLogp = unclipped >= clipped ? -advantages[i] * ratio / Double(B) : 0
            for k in 0..<D {
                let sigma = Foundation.exp(logStd[k])
                let z = (samples[i * D + k] - Double(means[i * D + k])) / sigma
                dMeans[i * D + k] = Float(dLogp * z / sigma)
                dLogStd[k] += dLogp * (z * z - 1)
            }
        }
        return loss / Double(B)
    }

    /// Writes rows `rows` of `source` (raw observations, rollout-sized), normalised, into `minibatch`.
    func gatherNormalized(_ source: [Float], rows: ArraySlice<Int>) {
        let D = observationSize
        source.withUnsafeBufferPointer { o in
            for (r, i) in rows.enumerated() {
                normalizer.apply(o.baseAddress! + i * D, into: minibatch.pointer + r * D)
            }
        }
    }

    /// Forward passes over rollout rows `rows` of `source` (raw observations), `size` at a time; `body` gets each
    /// row's index and its network output (the policy outputs, then the value).
    func forEachOutput(
        _ source: [Float], rows: [Int], _ body: (Int, UnsafeMutablePointer<Float>) -> Void
    ) {
        let size = hyper.rolloutSteps / hyper.minibatches
        for start in stride(from: 0, to: rows.count, by: size) {
            let chunk = rows[start..<min(start + size, rows.count)]
            gatherNormalized(source, rows: chunk)
            let out = network.forward(minibatch.pointer, rows: chunk.count)
            for (r, i) in chunk.enumerated() { body(i, out + r * (policyOutputs + 1)) }
        }
    }

    /// The log-probability of rollout row i's action under policy outputs `out` (logits or Gaussian means).
    func logProbability(row i: Int, outputs out: UnsafePointer<Float>) -> Double {
        if hyper.continuousActions {
            let ls = network.parameters.value(logStd!)
            return (0..<2).reduce(0.0) {
                $0
                    + PPOAgent.gaussianLogDensity(
                        Double(samples[2 * i + $1]), mean: Double(out[$1]), logStd: Double(ls[$1]))
            }
        }
        PPOAgent.logSoftmax(out, count: actionCount, into: logpScratch)
        return logpScratch[Int(actions[i])]
    }

    /// GAE over the rollout, one sequence per environment (rows e, N + e, 2N + e, …), each cut at its last row.
    func rolloutAdvantages(nextValues: [Float]) -> [Double] {
        let n = hyper.rolloutSteps
        let N = hyper.environments
        var adv = [Double](repeating: 0, count: n)
        for e in 0..<N {
            let rows = Array(stride(from: e, to: n, by: N))
            let a = PPOAgent.advantages(
                rewards: rows.map { Double(rewards[$0]) }, values: rows.map { Double(values[$0]) },
                nextValues: rows.map { Double(nextValues[$0]) }, terminated: rows.map { terminated[$0] },
                episodeEnds: rows.map { episodeEnds[$0] }, gamma: hyper.gamma, lambda: hyper.gaeLambda)
            for (t, r) in rows.enumerated() { adv[r] = a[t] }
        }
        return adv
    }

    /// One PPO update over the filled rollout: GAE, then `updateEpochs` passes of `minibatches` minibatches.
    func learn() -> [String: Double] {
        let n = hyper.rolloutSteps
        let N = hyper.environments
        let P = policyOutputs
        let O = P + 1
        if updates == 0 {
            // The first rollout was acted on while the normaliser was still learning its statistics: with them now
            // fixed, the old policy's log-probabilities and values are those of the same network on the same input.
            forEachOutput(observations, rows: Array(0..<n)) { i, out in
                logProbs[i] = Float(logProbability(row: i, outputs: out))
                values[i] = out[P]
            }
        }
        // Values of the next states where the rollout or an episode is cut without termination.
        var nextValues = [Float](repeating: 0, count: n)
        let cuts = (0..<n).filter { $0 >= n - N || (episodeEnds[$0] && !terminated[$0]) }
        forEachOutput(nextObservations, rows: cuts) { i, out in nextValues[i] = out[P] }
        let adv = rolloutAdvantages(nextValues: nextValues)
        let returns = zip(adv, values).map { $0 + Double($1) }
        if hyper.annealLearningRate {
            let total = max(1, hyper.totalSteps / n)
            optimizer.learningRate = hyper.learningRate * Float(max(0, 1 - Double(updates) / Double(total)))
        }
        let size = n / hyper.minibatches
        var order = Array(0..<n)
        var policyLoss = 0.0
        var valueLoss = 0.0
        var entropy = 0.0
        var clipped = 0
        var passes = 0
        for _ in 0..<hyper.updateEpochs {
            for i in stride(from: n - 1, to: 0, by: -1) { order.swapAt(i, rng.uniformInt(i + 1)) }
            for start in stride(from: 0, to: size * hyper.minibatches, by: size) {
                let idx = Array(order[start..<(start + size)])
                gatherNormalized(observations, rows: idx[...])
                var a = idx.map { adv[$0] }
                if hyper.normalizeAdvantages && size > 1 {
                    let mean = a.reduce(0, +) / Double(size)
                    let std = (a.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(size - 1)).squareRoot()
                    a = a.map { ($0 - mean) / (std + 1e-8) }
                }
                let out = network.forward(minibatch.pointer, rows: size)
                // Policy: the clipped surrogate and the entropy bonus, on the policy outputs (the first P of a row).
                for r in 0..<size { for k in 0..<P { logits.pointer[r * P + k] = out[r * O + k] } }
                network.parameters.zeroGrads()
                if hyper.continuousActions {
                    let lsRef = logStd!
                    let ls = (0..<2).map { Double(network.parameters.value(lsRef)[$0]) }
                    var dLogStd = [0.0, 0.0]
                    policyLoss += PPOAgent.gaussianClippedSurrogate(
                        means: logits.pointer, count: size, dimensions: 2, logStd: ls,
                        samples: idx.flatMap { [Double(samples[2 * $0]), Double(samples[2 * $0 + 1])] },
                        oldLogProbs: idx.map { Double(logProbs[$0]) }, advantages: a, clip: hyper.clipCoefficient,
                        dMeans: dLogits.pointer, dLogStd: &dLogStd)
                    // Entropy Σ_k (log σ_k + ½ log 2πe), the same for every row: −c_H ∂H/∂log σ_k = −c_H.
                    entropy += ls.reduce(0) { $0 + $1 + 0.5 * Foundation.log(2 * Double.pi * M_E) }
                    let g = network.parameters.grad(lsRef)
                    for k in 0..<2 { g[k] += Float(dLogStd[k] - hyper.entropyCoefficient) }
                    for (r, i) in idx.enumerated() {
                        let logp = logProbability(row: i, outputs: logits.pointer + r * 2)
                        if abs(Foundation.exp(logp - Double(logProbs[i])) - 1) > hyper.clipCoefficient { clipped += 1 }
                        for k in 0..<2 { dOut.pointer[r * O + k] = dLogits.pointer[r * 2 + k] }
                    }
                } else {
                    let K = actionCount
                    policyLoss += PPOAgent.clippedSurrogate(
                        logits: logits.pointer, count: size, actionCount: K, actions: idx.map { Int(actions[$0]) },
                        oldLogProbs: idx.map { Double(logProbs[$0]) }, advantages: a, clip: hyper.clipCoefficient,
                        dLogits: dLogits.pointer)
                    let logp = logpScratch
                    for r in 0..<size {
                        PPOAgent.logSoftmax(logits.pointer + r * K, count: K, into: logp)
                        var h = 0.0
                        for k in 0..<K { h -= Foundation.exp(logp[k]) * logp[k] }
                        entropy += h / Double(size)
                        if abs(Foundation.exp(logp[Int(actions[idx[r]])] - Double(logProbs[idx[r]])) - 1)
                            > hyper.clipCoefficient
                        {
                            clipped += 1
                        }
                        for k in 0..<K {
                            // −c_H ∂H/∂z_k = c_H p_k (log p_k + H) / B
                            let dEntropy =
                                hyper.entropyCoefficient * Foundation.exp(logp[k]) * (logp[k] + h) / Double(size)
                            dOut.pointer[r * O + k] = dLogits.pointer[r * K + k] + Float(dEntropy)
                        }
                    }
                }
                // Value: 0.5·mean max((V − R)², (V_clip − R)²), V_clip = V_old + clip(V − V_old, −ε, ε).
                for (r, i) in idx.enumerated() {
                    let v = Double(out[r * O + P])
                    let old = Double(values[i])
                    let target = returns[i]
                    var g = v - target
                    var l = 0.5 * g * g
                    if hyper.clipValueLoss {
                        let vc = old + min(max(v - old, -hyper.clipCoefficient), hyper.clipCoefficient)
                        let lc = 0.5 * (vc - target) * (vc - target)
                        if lc > l {
                            l = lc
                            g = abs(v - old) < hyper.clipCoefficient ? vc - target : 0
                        }
                    }
                    valueLoss += l / Double(size)
                    dOut.pointer[r * O + P] = Float(hyper.valueCoefficient * g / Double(size))
                }
                network.backward(dOut.pointer, rows: size)
                optimizer.clipGradients(maxNorm: hyper.maxGradNorm)
                optimizer.update()
                passes += 1
            }
        }
        updates += 1
        let p = Double(max(passes, 1))
        return [
            "loss": (policyLoss + hyper.valueCoefficient * valueLoss - hyper.entropyCoefficient * entropy) / p,
            "policy_loss": policyLoss / p, "value_loss": valueLoss / p, "entropy": entropy / p,
            "clip_fraction": Double(clipped) / Double(passes * size)
        ]
    }

    // MARK: Files

    /// Saves the policy (network, normaliser, hyper-parameters, step).
    public func save(to path: String) throws { try save(to: path, full: false) }

    /// Saves everything needed to resume training bit for bit: the policy, Adam's moments, the generator, the
    /// partly filled rollout and what `act` last saw.
    public func saveCheckpoint(to path: String) throws { try save(to: path, full: true) }

    func save(to path: String, full: Bool) throws {
        try PolicyFile.write(path, agent: name) { f in
            try PolicyFile.writeHeader(
                f, hyper: hyper, observationSize: observationSize, actionCount: actionCount, normalizer: normalizer)
            try f.setAttribute("step", step)
            try f.setAttribute("updates", updates)
            try network.write(to: f, prefix: "network")
            if hyper.continuousActions {
                try f.write("setting_ranges", settingRanges, shape: [4])
                try f.write("grid", grid, shape: [actionCount, 2])
            }
            guard full else { return }
            try f.write("optimizer/m", optimizer.m, shape: [optimizer.m.count])
            try f.write("optimizer/v", optimizer.v, shape: [optimizer.v.count])
            try f.setAttribute("optimizer_step", optimizer.step)
            try f.write("rng", rng.stateWords, shape: [4])
            let n = hyper.rolloutSteps
            try f.setAttribute("rollout_filled", filled)
            try f.write("rollout/observation", observations, shape: [n, observationSize])
            try f.write("rollout/action", actions.map { Int64($0) }, shape: [n])
            try f.write("rollout/log_prob", logProbs, shape: [n])
            try f.write("rollout/value", values, shape: [n])
            try f.write("rollout/reward", rewards, shape: [n])
            try f.write("rollout/next_observation", nextObservations, shape: [n, observationSize])
            try f.write("rollout/terminated", terminated.map { $0 ? Int64(1) : 0 }, shape: [n])
            try f.write("rollout/episode_end", episodeEnds.map { $0 ? Int64(1) : 0 }, shape: [n])
            try f.write("last", lastLogProbs + lastValues, shape: [2 * hyper.environments])
            if hyper.continuousActions {
                try f.write("rollout/sample", samples, shape: [n, 2])
                try f.write("last_samples", lastSamples, shape: [2 * hyper.environments])
            }
            if let v = vectorState {
                let N = v.states.count
                for (e, state) in v.states.enumerated() {
                    try f.write("environments/state_\(e)", state.map { Int64($0) }, shape: [state.count])
                }
                try f.write("environments/observation", v.observations.flatMap { $0 }, shape: [N, observationSize])
                try f.write("environments/return", v.returns, shape: [N])
                try f.write("environments/length", v.lengths.map { Int64($0) }, shape: [N])
                try f.setAttribute("next_episode", v.nextEpisode)
            }
        }
    }

    /// Loads a policy (or a full training checkpoint) written by `save`.
    public static func load(_ path: String) throws -> PPOAgent {
        let f = try HDF5File.open(path)
        defer { f.close() }
        let header = try PolicyFile.Header<PPOHyperparameters>(f, path: path, agent: "ppo")
        let hyper = header.hyper
        let d = header.observationSize
        var ranges: [Double] = []
        var grid: [(doseRate: Double, frameRate: Double)] = []
        if hyper.continuousActions {
            ranges = try f.readDouble("setting_ranges").data
            let g = try f.readDouble("grid").data
            grid = stride(from: 0, to: g.count - 1, by: 2).map { (g[$0], g[$0 + 1]) }
        }
        let agent: PPOAgent
        do {
            agent = try PPOAgent(
                observationSize: d, actionCount: header.actionCount, hyper: hyper, seed: 0, settingRanges: ranges,
                grid: grid)
        } catch let error as AgentError {
            throw AgentError.badPolicyFile("\(path): \(error)")
        }
        try agent.network.read(from: f, prefix: "network")
        agent.normalizer = header.normalizer
        agent.step = Int(try f.doubleAttribute("step") ?? 0)
        agent.updates = Int(try f.doubleAttribute("updates") ?? 0)
        guard f.exists("optimizer/m") else { return agent }
        agent.optimizer.restore(
            m: try f.readFloat("optimizer/m").data, v: try f.readFloat("optimizer/v").data,
            step: Int(try f.doubleAttribute("optimizer_step") ?? 0))
        agent.rng = Xoshiro256StarStar(state: try f.readUInt64("rng").data)
        let n = hyper.rolloutSteps
        func exact<T>(_ x: [T], _ count: Int, _ name: String) throws -> [T] {
            guard x.count == count else {
                throw AgentError.badPolicyFile("\(path): rollout/\(name) has \(x.count) values, expected \(count)")
            }
            return x
        }
        agent.filled = Int(try f.doubleAttribute("rollout_filled") ?? 0)
        guard agent.filled >= 0 && agent.filled < n else {
            throw AgentError.badPolicyFile("\(path): rollout_filled is outside 0 ..< \(n)")
        }
        agent.observations = try exact(try f.readFloat("rollout/observation").data, n * d, "observation")
        agent.actions = try exact(try f.readInt64("rollout/action").data.map { Int32($0) }, n, "action")
        agent.logProbs = try exact(try f.readFloat("rollout/log_prob").data, n, "log_prob")
        agent.values = try exact(try f.readFloat("rollout/value").data, n, "value")
        agent.rewards = try exact(try f.readFloat("rollout/reward").data, n, "reward")
        agent.nextObservations = try exact(
            try f.readFloat("rollout/next_observation").data, n * d, "next_observation")
        agent.terminated = try exact(try f.readInt64("rollout/terminated").data.map { $0 != 0 }, n, "terminated")
        agent.episodeEnds = try exact(try f.readInt64("rollout/episode_end").data.map { $0 != 0 }, n, "episode_end")
        let N = hyper.environments
        let last = try f.readFloat("last").data
        if last.count == 2 * N { (agent.lastLogProbs, agent.lastValues) = (Array(last[..<N]), Array(last[N...])) }
        if hyper.continuousActions {
            agent.samples = try exact(try f.readFloat("rollout/sample").data, 2 * n, "sample")
            agent.lastSamples = try exact(try f.readFloat("last_samples").data, 2 * N, "last_samples")
        }
        if f.exists("environments/observation") {
            let observations = try f.readFloat("environments/observation").data
            guard observations.count == N * d else {
                throw AgentError.badPolicyFile(
                    "\(path): environments/observation holds \(observations.count / d) environments, expected \(N)")
            }
            agent.vectorState = VectorRolloutState(
                states: try (0..<N).map { e in
                    try f.readInt64("environments/state_\(e)").data.map { UInt8(truncatingIfNeeded: $0) }
                },
                observations: (0..<N).map { Array(observations[($0 * d)..<(($0 + 1) * d)]) },
                returns: try f.readDouble("environments/return").data,
                lengths: try f.readInt64("environments/length").data.map { Int($0) },
                nextEpisode: Int(try f.doubleAttribute("next_episode") ?? 0))
        }
        return agent
    }
}
