import Foundation
import LeonardoSim
import MicroscopeGym

/// Deep Q-learning (Mnih et al., Nature 518, 529, 2015) with Double DQN targets (van Hasselt, Guez & Silver,
/// AAAI 2016), experience replay, a target network with periodic (τ = 1) or Polyak (τ < 1) updates, the Huber
/// loss, Adam, ε-greedy exploration with a linear schedule and global gradient-norm clipping.
/// Defaults follow CleanRL's `dqn.py` where they fit a ~20k-step budget (noted per field).
public struct DQNHyperparameters: Codable, Equatable, Sendable {
    /// Adam learning rate (CleanRL 2.5e-4; larger here for short budgets).
    public var learningRate: Float = 1e-3
    /// Replay buffer capacity (CleanRL 10,000).
    public var bufferSize = 20_000
    /// Discount factor γ (CleanRL 0.99).
    public var gamma = 0.99
    /// Target network update rate τ (1 = hard copy; CleanRL 1.0).
    public var tau: Float = 1.0
    /// Steps between target network updates (CleanRL 500).
    public var targetUpdateFrequency = 500
    /// Minibatch size (CleanRL 128).
    public var batchSize = 64
    /// ε at the start, at the end, and the fraction of total steps over which it decays linearly (CleanRL 1, 0.05, 0.5).
    public var startEpsilon = 1.0
    public var endEpsilon = 0.05
    public var explorationFraction = 0.4
    /// Steps of random play before learning starts (CleanRL 10,000; scaled to the budget).
    public var learningStarts = 1_000
    /// Environment steps per gradient step (CleanRL 10).
    public var trainFrequency = 2
    /// Hidden layer widths of the Q-network (CleanRL 120, 84).
    public var hiddenSizes = [64, 64]
    /// Global gradient-norm clip (0 disables; CleanRL none).
    public var maxGradNorm = 10.0
    /// Temporally extended ε-greedy (Dabney, Ostrovski & Barreto, ICLR 2021): an exploratory action is held for
    /// n steps, n ~ zeta(μ) (P(n) ∝ n^−μ, capped at 100); μ = 0 gives plain ε-greedy. Held random settings let the
    /// agent see whole episodes of one setting, which single-step dithering on the microscope almost never does.
    public var explorationDurationExponent = 2.0
    /// n of n-step returns (Sutton 1988; Hessel et al., Rainbow, AAAI 2018, use 3): the target sums n discounted
    /// rewards before bootstrapping, so consequences that arrive late (damage, termination) reach the action
    /// sooner. 1 gives the one-step target of plain DQN.
    public var multiStep = 5
    /// Total training steps (sets the ε schedule).
    public var totalSteps = 20_000
    public init() {}

    enum CodingKeys: String, CodingKey {
        case learningRate, bufferSize, gamma, tau, targetUpdateFrequency, batchSize, startEpsilon, endEpsilon,
            explorationFraction, learningStarts, trainFrequency, hiddenSizes, maxGradNorm, explorationDurationExponent,
            multiStep, totalSteps
    }

    /// Decodes hyper-parameters; fields missing from older files keep their defaults.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func get<T: Decodable>(_ k: CodingKeys, _ d: T) throws -> T { try c.decodeIfPresent(T.self, forKey: k) ?? d }
        learningRate = try get(.learningRate, learningRate)
        bufferSize = try get(.bufferSize, bufferSize)
        gamma = try get(.gamma, gamma)
        tau = try get(.tau, tau)
        targetUpdateFrequency = try get(.targetUpdateFrequency, targetUpdateFrequency)
        batchSize = try get(.batchSize, batchSize)
        startEpsilon = try get(.startEpsilon, startEpsilon)
        endEpsilon = try get(.endEpsilon, endEpsilon)
        explorationFraction = try get(.explorationFraction, explorationFraction)
        learningStarts = try get(.learningStarts, learningStarts)
        trainFrequency = try get(.trainFrequency, trainFrequency)
        hiddenSizes = try get(.hiddenSizes, hiddenSizes)
        maxGradNorm = try get(.maxGradNorm, maxGradNorm)
        explorationDurationExponent = try get(.explorationDurationExponent, explorationDurationExponent)
        multiStep = try get(.multiStep, 1)  // files written before n-step returns used one-step targets
        totalSteps = try get(.totalSteps, totalSteps)
    }

    /// Checks every value; the error names the field.
    public func validate() throws {
        func need(_ ok: Bool, _ field: String, _ what: String) throws {
            if !ok { throw AgentError.incompatible("DQN: \(field) \(what)") }
        }
        try need(learningRate > 0 && learningRate <= 1, "learning-rate", "is \(learningRate); it must lie in (0, 1]")
        try need(bufferSize >= batchSize, "buffer-size", "must be at least the batch size")
        try need(bufferSize <= 10_000_000, "buffer-size", "is \(bufferSize); it must be at most 10,000,000")
        try need(batchSize <= 65_536, "batch-size", "is \(batchSize); it must be at most 65,536")
        try need(
            hiddenSizes.allSatisfy { $0 <= 65_536 } && hiddenSizes.count <= 16, "hidden-sizes",
            "must be at most 16 layers of at most 65,536 units")
        try need(gamma >= 0 && gamma <= 1, "gamma", "must lie in [0, 1]")
        try need(tau > 0 && tau <= 1, "tau", "must lie in (0, 1]")
        try need(
            targetUpdateFrequency >= 1 && targetUpdateFrequency <= 100_000_000, "target-update-frequency",
            "must lie in 1 … 10⁸")
        try need(batchSize >= 1, "batch-size", "must be at least 1")
        try need(
            startEpsilon >= 0 && startEpsilon <= 1 && endEpsilon >= 0 && endEpsilon <= 1, "epsilon",
            "values must lie in [0, 1]")
        try need(explorationFraction > 0 && explorationFraction <= 1, "exploration-fraction", "must lie in (0, 1]")
        try need(learningStarts >= batchSize, "learning-starts", "must be at least the batch size")
        try need(trainFrequency >= 1 && trainFrequency <= 100_000, "train-frequency", "must lie in 1 … 100,000")
        try need(learningStarts <= 100_000_000, "learning-starts", "must be at most 10⁸")
        try need(!hiddenSizes.isEmpty && hiddenSizes.allSatisfy { $0 >= 1 }, "hidden-sizes", "must be positive widths")
        try need(maxGradNorm >= 0 && maxGradNorm.isFinite, "max-grad-norm", "must be ≥ 0 and finite")
        try need(totalSteps >= 1, "total-steps", "must be positive")
        try need(multiStep >= 1 && multiStep <= 1000, "multi-step", "must lie in 1 … 1000")
        try need(gamma.isFinite && startEpsilon.isFinite && endEpsilon.isFinite, "gamma/epsilon", "must be finite")
        try need(
            explorationDurationExponent == 0 || explorationDurationExponent > 1, "exploration-duration-exponent",
            "must be 0 (off) or > 1")
    }
}

/// ε of ε-greedy exploration at `step`: from `start` to `end` linearly over `fraction` of `totalSteps`, then `end`
/// (the schedule of DQN and the recurrent DQN).
func linearEpsilon(step: Int, start: Double, end: Double, fraction: Double, totalSteps: Int) -> Double {
    let span = fraction * Double(totalSteps)
    let frac = min(1, Double(step) / max(span, 1))
    return start + frac * (end - start)
}

public final class DQNAgent: Agent {
    public let name = "dqn"
    public let hyper: DQNHyperparameters
    public let observationSize: Int, actionCount: Int
    public let q: MLP, target: MLP
    let optimizer: Adam
    public private(set) var normalizer: ObservationNormalizer
    public private(set) var step = 0
    var rng: Xoshiro256StarStar
    // Replay buffer (ring).
    var bufObs: [Float], bufNext: [Float], bufAction: [Int32], bufReward: [Float], bufTerminal: [Float]
    /// Rewards summed in each stored transition (its target bootstraps with γ^steps).
    var bufSteps: [Int32]
    /// γ^m for m = 0…multiStep, the bootstrap factor of a transition that summed m rewards.
    let discounts: [Float]
    var bufCount = 0, bufHead = 0
    // The current episode's transitions not yet stored (fewer than multiStep of them).
    var pendingObs: [Float] = [], pendingAction: [Int32] = [], pendingReward: [Float] = []
    // Minibatch scratch.
    let batchObs: FloatBuffer, batchNext: FloatBuffer, dOut: FloatBuffer
    var actScratch: FloatBuffer
    var heldAction = 0, heldSteps = 0

    public init(observationSize: Int, actionCount: Int, hyper: DQNHyperparameters = DQNHyperparameters(), seed: UInt64)
        throws
    {
        try hyper.validate()
        self.hyper = hyper
        self.observationSize = observationSize
        self.actionCount = actionCount
        let sizes = [observationSize] + hyper.hiddenSizes + [actionCount]
        q = MLP(sizes: sizes, seed: seed)
        target = MLP(sizes: sizes, seed: seed)
        target.copyWeights(from: q)
        optimizer = Adam(q.parameters, learningRate: hyper.learningRate)
        normalizer = ObservationNormalizer(dimension: observationSize)
        rng = Xoshiro256StarStar(seed: seed ^ 0xD0D0)
        bufObs = [Float](repeating: 0, count: hyper.bufferSize * observationSize)
        bufNext = bufObs
        bufAction = [Int32](repeating: 0, count: hyper.bufferSize)
        bufReward = [Float](repeating: 0, count: hyper.bufferSize)
        bufTerminal = bufReward
        bufSteps = [Int32](repeating: 1, count: hyper.bufferSize)
        discounts = (0...hyper.multiStep).map { $0 == 1 ? Float(hyper.gamma) : Float(pow(hyper.gamma, Double($0))) }
        batchObs = FloatBuffer(count: hyper.batchSize * observationSize)
        batchNext = FloatBuffer(count: hyper.batchSize * observationSize)
        dOut = FloatBuffer(count: hyper.batchSize * actionCount)
        actScratch = FloatBuffer(count: observationSize)
    }

    /// ε at the current step (linear decay over explorationFraction·totalSteps).
    public var epsilon: Double {
        linearEpsilon(
            step: step, start: hyper.startEpsilon, end: hyper.endEpsilon, fraction: hyper.explorationFraction,
            totalSteps: hyper.totalSteps)
    }

    /// Q-values of one observation.
    public func qValues(_ observation: [Float]) -> [Float] {
        normalizer.apply(observation, into: actScratch.pointer)
        let out = q.forward(actScratch.pointer, rows: 1)
        return Array(UnsafeBufferPointer(start: out, count: actionCount))
    }

    public func act(_ observation: [Float], explore: Bool) -> Int {
        precondition(
            observation.count == observationSize,
            "observation has \(observation.count) values, the network expects \(observationSize)")
        if explore && heldSteps > 0 {
            heldSteps -= 1
            return heldAction
        }
        if explore && rng.uniform() < epsilon {
            heldAction = rng.uniformInt(actionCount)
            if hyper.explorationDurationExponent > 1 {
                let n = min(
                    100.0, (pow(rng.uniformPositive(), -1 / (hyper.explorationDurationExponent - 1))).rounded(.down))
                heldSteps = Int(n) - 1
            }
            return heldAction
        }
        let v = qValues(observation)
        return v.indices.max { v[$0] < v[$1] }!
    }

    /// Ends the held exploratory action; transitions of an episode that stopped without a final `done` (a resumed
    /// run restarts its episode) are dropped, so n-step sums never cross episodes.
    public func endEpisode(return: Double) {
        heldSteps = 0
        pendingObs.removeAll()
        pendingAction.removeAll()
        pendingReward.removeAll()
    }

    public func observe(_ t: Transition) -> [String: Double] {
        step += 1
        if step <= hyper.learningStarts { normalizer.update(t.observation) }
        pendingObs += t.observation
        pendingAction.append(Int32(t.action))
        pendingReward.append(Float(t.reward))
        if t.terminated || t.done {
            // The episode ended: store every pending start with the rewards to the end.
            while !pendingAction.isEmpty { storeOldestPending(next: t.nextObservation, terminal: t.terminated) }
        } else if pendingAction.count == hyper.multiStep {
            storeOldestPending(next: t.nextObservation, terminal: false)
        }
        var metrics: [String: Double] = ["epsilon": epsilon]
        if step > hyper.learningStarts && step % hyper.trainFrequency == 0 {
            metrics["loss"] = learn()
        }
        if step % hyper.targetUpdateFrequency == 0 {
            if hyper.tau >= 1 { target.copyWeights(from: q) } else { target.blendWeights(from: q, tau: hyper.tau) }
        }
        return metrics
    }

    /// Stores (o_t, a_t, Σ_k γ^k r_{t+k}, o_next, terminal, steps) for the oldest pending transition and drops it.
    func storeOldestPending(next: [Float], terminal: Bool) {
        let D = observationSize
        let i = bufHead
        var sum = 0.0
        var g = 1.0
        for r in pendingReward {
            sum += g * Double(r)
            g *= hyper.gamma
        }
        for j in 0..<D {
            bufObs[i * D + j] = pendingObs[j]
            bufNext[i * D + j] = next[j]
        }
        bufAction[i] = pendingAction[0]
        bufReward[i] = Float(sum)
        bufTerminal[i] = terminal ? 1 : 0
        bufSteps[i] = Int32(pendingReward.count)
        bufHead = (bufHead + 1) % hyper.bufferSize
        bufCount = min(bufCount + 1, hyper.bufferSize)
        pendingObs.removeFirst(D)
        pendingAction.removeFirst()
        pendingReward.removeFirst()
    }

    /// One gradient step on a replay minibatch; returns the mean Huber loss.
    func learn() -> Double {
        let B = hyper.batchSize
        let D = observationSize
        let A = actionCount
        var idx = [Int](repeating: 0, count: B)
        bufNext.withUnsafeBufferPointer { next in
            bufObs.withUnsafeBufferPointer { obs in
                for b in 0..<B {
                    let i = rng.uniformInt(bufCount)
                    idx[b] = i
                    normalizer.apply(next.baseAddress! + i * D, into: batchNext.pointer + b * D)
                    normalizer.apply(obs.baseAddress! + i * D, into: batchObs.pointer + b * D)
                }
            }
        }
        // Double DQN: the online network picks a*, the target network evaluates it.
        let qNext = q.forward(batchNext.pointer, rows: B)
        var best = [Int](repeating: 0, count: B)
        for b in 0..<B {
            var m = 0
            for a in 1..<A where qNext[b * A + a] > qNext[b * A + m] { m = a }
            best[b] = m
        }
        let tNext = target.forward(batchNext.pointer, rows: B)
        var y = [Float](repeating: 0, count: B)
        for b in 0..<B {
            let i = idx[b]
            let discount = discounts[Int(bufSteps[i])]
            y[b] = bufReward[i] + discount * (1 - bufTerminal[i]) * tNext[b * A + best[b]]
        }
        let qs = q.forward(batchObs.pointer, rows: B)
        var loss = 0.0
        dOut.pointer.update(repeating: 0, count: B * A)
        for b in 0..<B {
            let a = Int(bufAction[idx[b]])
            let delta = qs[b * A + a] - y[b]
            loss += Double(abs(delta) <= 1 ? 0.5 * delta * delta : abs(delta) - 0.5)
            dOut.pointer[b * A + a] = max(-1, min(1, delta)) / Float(B)
        }
        q.parameters.zeroGrads()
        q.backward(dOut.pointer, rows: B)
        optimizer.clipGradients(maxNorm: hyper.maxGradNorm)
        optimizer.update()
        return loss / Double(B)
    }

    // MARK: Files

    /// Saves the policy (weights, normaliser, hyper-parameters, step); with `full`, also everything needed to
    /// resume training bit-for-bit (target network, Adam moments, replay buffer, generator).
    public func save(to path: String, full: Bool) throws {
        try PolicyFile.write(path, agent: name) { f in
            try PolicyFile.writeHeader(
                f, hyper: hyper, observationSize: observationSize, actionCount: actionCount, normalizer: normalizer)
            try f.setAttribute("step", step)
            try q.write(to: f, prefix: "q")
            guard full else { return }
            try target.write(to: f, prefix: "target")
            try f.write("optimizer/m", optimizer.m, shape: [optimizer.m.count])
            try f.write("optimizer/v", optimizer.v, shape: [optimizer.v.count])
            try f.setAttribute("optimizer_step", optimizer.step)
            try f.write("replay/observation", bufObs, shape: [hyper.bufferSize, observationSize])
            try f.write("replay/next_observation", bufNext, shape: [hyper.bufferSize, observationSize])
            try f.write("replay/action", bufAction.map { Int64($0) }, shape: [hyper.bufferSize])
            try f.write("replay/reward", bufReward, shape: [hyper.bufferSize])
            try f.write("replay/terminal", bufTerminal, shape: [hyper.bufferSize])
            try f.write("replay/steps", bufSteps.map { Int64($0) }, shape: [hyper.bufferSize])
            let p = pendingAction.count
            if p > 0 {
                try f.write("replay/pending_observation", pendingObs, shape: [p, observationSize])
                try f.write("replay/pending_action", pendingAction.map { Int64($0) }, shape: [p])
                try f.write("replay/pending_reward", pendingReward, shape: [p])
            }
            try f.setAttribute("replay_count", bufCount)
            try f.setAttribute("replay_head", bufHead)
            try f.write("rng", rng.stateWords, shape: [4])
            try f.setAttribute("held_action", heldAction)
            try f.setAttribute("held_steps", heldSteps)
        }
    }

    public func save(to path: String) throws { try save(to: path, full: false) }

    /// Loads a policy (or a full training checkpoint) written by `save`.
    public static func load(_ path: String, hyperOverride: DQNHyperparameters? = nil) throws -> DQNAgent {
        let f = try HDF5File.open(path)
        defer { f.close() }
        let header = try PolicyFile.Header<DQNHyperparameters>(f, path: path, agent: "dqn")
        var hyper = header.hyper
        if let hyperOverride { hyper.totalSteps = hyperOverride.totalSteps }
        let agent = try DQNAgent(
            observationSize: header.observationSize, actionCount: header.actionCount, hyper: hyper, seed: 0)
        try agent.q.read(from: f, prefix: "q")
        agent.normalizer = header.normalizer
        agent.step = Int(try f.doubleAttribute("step") ?? 0)
        if f.exists("target/layers.0.weight") {
            try agent.target.read(from: f, prefix: "target")
            let m = try f.readFloat("optimizer/m").data
            let v = try f.readFloat("optimizer/v").data
            agent.optimizer.restore(m: m, v: v, step: Int(try f.doubleAttribute("optimizer_step") ?? 0))
            agent.bufObs = try f.readFloat("replay/observation").data
            agent.bufNext = try f.readFloat("replay/next_observation").data
            agent.bufAction = try f.readInt64("replay/action").data.map { Int32($0) }
            agent.bufReward = try f.readFloat("replay/reward").data
            agent.bufTerminal = try f.readFloat("replay/terminal").data
            if f.exists("replay/steps") { agent.bufSteps = try f.readInt64("replay/steps").data.map { Int32($0) } }
            if f.exists("replay/pending_action") {
                agent.pendingObs = try f.readFloat("replay/pending_observation").data
                agent.pendingAction = try f.readInt64("replay/pending_action").data.map { Int32($0) }
                agent.pendingReward = try f.readFloat("replay/pending_reward").data
            }
            agent.bufCount = Int(try f.doubleAttribute("replay_count") ?? 0)
            agent.bufHead = Int(try f.doubleAttribute("replay_head") ?? 0)
            agent.rng = Xoshiro256StarStar(state: try f.readUInt64("rng").data)
            agent.heldAction = Int(try f.doubleAttribute("held_action") ?? 0)
            agent.heldSteps = Int(try f.doubleAttribute("held_steps") ?? 0)
        } else {
            agent.target.copyWeights(from: agent.q)
        }
        return agent
    }
}
