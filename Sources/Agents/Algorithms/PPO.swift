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
    public init() {}

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
    }
}

/// PPO for `Discrete` actions on vector observations. Acting samples from the policy's softmax (`explore`) or takes
/// its most probable action; `observe` fills the rollout, and a full rollout is learned from at once. Observations
/// are standardised with statistics of the first rollout, then frozen (as DQN's before learning starts).
public final class PPOAgent: ResumableAgent {
    public let name = "ppo"
    public let hyper: PPOHyperparameters
    public let observationSize: Int, actionCount: Int
    /// The actor–critic: outputs actionCount logits, then the value.
    public let network: MLP
    let optimizer: Adam
    public private(set) var normalizer: ObservationNormalizer
    public private(set) var step = 0
    public private(set) var updates = 0
    var rng: Xoshiro256StarStar
    // The rollout: raw observations, actions, log-probabilities and values when acting, rewards, terminations, episode
    // ends, and the raw next observation where the rollout or an episode is cut without termination (GAE bootstraps
    // from its value there).
    var observations: [Float], actions: [Int32], logProbs: [Float], values: [Float], rewards: [Float]
    var terminated: [Bool], episodeEnds: [Bool], nextObservations: [Float]
    var filled = 0
    // What `act` saw for the transition `observe` will receive.
    var lastLogProb: Float = 0, lastValue: Float = 0
    // Scratch: one observation, a minibatch's inputs, logits and their gradients, output gradients, log-probabilities.
    let input: FloatBuffer, minibatch: FloatBuffer, logits: FloatBuffer, dLogits: FloatBuffer, dOut: FloatBuffer
    let logpScratch: UnsafeMutablePointer<Double>

    public init(observationSize: Int, actionCount: Int, hyper: PPOHyperparameters = PPOHyperparameters(), seed: UInt64)
        throws
    {
        try hyper.validate()
        guard observationSize >= 1, actionCount >= 2 else {
            throw AgentError.incompatible("PPO needs observations and at least 2 actions")
        }
        self.hyper = hyper
        self.observationSize = observationSize
        self.actionCount = actionCount
        network = MLP(sizes: [observationSize] + hyper.hiddenSizes + [actionCount + 1], seed: seed)
        optimizer = Adam(network.parameters, learningRate: hyper.learningRate)
        normalizer = ObservationNormalizer(dimension: observationSize)
        rng = Xoshiro256StarStar(seed: seed ^ 0x9090)
        let n = hyper.rolloutSteps
        observations = [Float](repeating: 0, count: n * observationSize)
        actions = [Int32](repeating: 0, count: n)
        logProbs = [Float](repeating: 0, count: n)
        values = logProbs
        rewards = logProbs
        nextObservations = observations
        terminated = [Bool](repeating: false, count: n)
        episodeEnds = terminated
        let size = n / hyper.minibatches
        input = FloatBuffer(count: observationSize)
        minibatch = FloatBuffer(count: size * observationSize)
        logits = FloatBuffer(count: size * actionCount)
        dLogits = FloatBuffer(count: size * actionCount)
        dOut = FloatBuffer(count: size * (actionCount + 1))
        logpScratch = .allocate(capacity: actionCount)
    }

    public func act(_ observation: [Float], explore: Bool) -> Int {
        precondition(
            observation.count == observationSize,
            "observation has \(observation.count) values, the network expects \(observationSize)")
        normalizer.apply(observation, into: input.pointer)
        let out = network.forward(input.pointer, rows: 1)
        let logp = logpScratch
        PPOAgent.logSoftmax(out, count: actionCount, into: logp)
        let action: Int
        if explore {
            // Inverse-CDF sampling with the agent's own generator.
            let u = rng.uniform()
            var acc = 0.0
            var chosen = actionCount - 1
            for a in 0..<actionCount {
                acc += Foundation.exp(logp[a])
                if u < acc {
                    chosen = a
                    break
                }
            }
            action = chosen
        } else {
            var best = 0
            for a in 1..<actionCount where out[a] > out[best] { best = a }
            action = best
        }
        lastLogProb = Float(logp[action])
        lastValue = out[actionCount]
        return action
    }

    public func observe(_ t: Transition) -> [String: Double] {
        step += 1
        if updates == 0 { normalizer.update(t.observation) }
        let i = filled
        for j in 0..<observationSize { observations[i * observationSize + j] = t.observation[j] }
        actions[i] = Int32(t.action)
        logProbs[i] = lastLogProb
        values[i] = lastValue
        rewards[i] = Float(t.reward)
        terminated[i] = t.terminated
        episodeEnds[i] = t.done
        filled += 1
        for j in 0..<observationSize { nextObservations[i * observationSize + j] = t.nextObservation[j] }
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
    /// row's index and its network output (K logits, then the value).
    func forEachOutput(
        _ source: [Float], rows: [Int], _ body: (Int, UnsafeMutablePointer<Float>) -> Void
    ) {
        let size = hyper.rolloutSteps / hyper.minibatches
        for start in stride(from: 0, to: rows.count, by: size) {
            let chunk = rows[start..<min(start + size, rows.count)]
            gatherNormalized(source, rows: chunk)
            let out = network.forward(minibatch.pointer, rows: chunk.count)
            for (r, i) in chunk.enumerated() { body(i, out + r * (actionCount + 1)) }
        }
    }

    /// One PPO update over the filled rollout: GAE, then `updateEpochs` passes of `minibatches` minibatches.
    func learn() -> [String: Double] {
        let n = hyper.rolloutSteps
        let K = actionCount
        let O = K + 1
        if updates == 0 {
            // The first rollout was acted on while the normaliser was still learning its statistics: with them now
            // fixed, the old policy's log-probabilities and values are those of the same network on the same input.
            forEachOutput(observations, rows: Array(0..<n)) { i, out in
                PPOAgent.logSoftmax(out, count: K, into: logpScratch)
                logProbs[i] = Float(logpScratch[Int(actions[i])])
                values[i] = out[K]
            }
        }
        // Values of the next states where the rollout or an episode is cut without termination.
        var nextValues = [Float](repeating: 0, count: n)
        let cuts = (0..<n).filter { $0 == n - 1 || (episodeEnds[$0] && !terminated[$0]) }
        forEachOutput(nextObservations, rows: cuts) { i, out in nextValues[i] = out[K] }
        let adv = PPOAgent.advantages(
            rewards: rewards.map(Double.init), values: values.map(Double.init),
            nextValues: nextValues.map(Double.init), terminated: terminated, episodeEnds: episodeEnds,
            gamma: hyper.gamma, lambda: hyper.gaeLambda)
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
                // Policy: the clipped surrogate and the entropy bonus, on the logits (the first K outputs of a row).
                for r in 0..<size { for k in 0..<K { logits.pointer[r * K + k] = out[r * O + k] } }
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
                        let dEntropy = hyper.entropyCoefficient * Foundation.exp(logp[k]) * (logp[k] + h) / Double(size)
                        dOut.pointer[r * O + k] = dLogits.pointer[r * K + k] + Float(dEntropy)
                    }
                }
                // Value: 0.5·mean max((V − R)², (V_clip − R)²), V_clip = V_old + clip(V − V_old, −ε, ε).
                for (r, i) in idx.enumerated() {
                    let v = Double(out[r * O + K])
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
                    dOut.pointer[r * O + K] = Float(hyper.valueCoefficient * g / Double(size))
                }
                network.parameters.zeroGrads()
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
            try f.write("last", [lastLogProb, lastValue], shape: [2])
        }
    }

    /// Loads a policy (or a full training checkpoint) written by `save`.
    public static func load(_ path: String) throws -> PPOAgent {
        let f = try HDF5File.open(path)
        defer { f.close() }
        let header = try PolicyFile.Header<PPOHyperparameters>(f, path: path, agent: "ppo")
        let hyper = header.hyper
        let d = header.observationSize
        let agent = try PPOAgent(observationSize: d, actionCount: header.actionCount, hyper: hyper, seed: 0)
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
        let last = try f.readFloat("last").data
        if last.count == 2 { (agent.lastLogProb, agent.lastValue) = (last[0], last[1]) }
        return agent
    }
}
