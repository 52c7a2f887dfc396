import Foundation
import LeonardoSim
import MicroscopeGym

/// A recurrent Q-learner for partially observed scenarios (DRQN, Hausknecht & Stone, AAAI Fall Symposium 2015; with
/// R2D2's stored recurrent state, Kapturowski et al., ICLR 2019): a GRU over the episode's observations and a linear
/// head of one Q-value per action, trained by back-propagation through time on replayed stretches of episodes. Each
/// stretch starts from the recurrent state the agent had when it acted there (stored in the replay), runs at most
/// `sequenceLength` steps and never crosses an episode's end; targets are one-step double-DQN targets from a target
/// network unrolled along the same stretch. The hyper-parameters, all flags of `gym-runner train --agent rdqn`:
public struct RecurrentDQNHyperparameters: Codable, Equatable, Sendable {
    /// Adam learning rate.
    public var learningRate: Float = 1e-3
    /// Transitions kept in the replay (a ring).
    public var bufferSize = 20_000
    /// Discount γ.
    public var gamma = 0.99
    /// Environment steps between hard copies of the online network into the target network.
    public var targetUpdateFrequency = 500
    /// Stretches of episodes per gradient step.
    public var batchSize = 16
    /// The longest stretch (steps) a gradient step unrolls.
    public var sequenceLength = 40
    /// ε of ε-greedy exploration: from `startEpsilon` to `endEpsilon` over `explorationFraction` of the steps.
    public var startEpsilon = 1.0
    public var endEpsilon = 0.05
    public var explorationFraction = 0.4
    /// Random steps before learning (the observation statistics are taken from them, then frozen).
    public var learningStarts = 1_000
    /// Environment steps per gradient step.
    public var trainFrequency = 4
    /// Width of the GRU's state.
    public var hiddenSize = 64
    /// Global gradient-norm clip (0: none).
    public var maxGradNorm = 10.0
    /// Total training steps (sets the ε schedule).
    public var totalSteps = 20_000
    public init() {}

    /// Checks every value; the error names the flag.
    public func validate() throws {
        func need(_ ok: Bool, _ field: String, _ what: String) throws {
            if !ok { throw AgentError.incompatible("recurrent DQN: \(field) \(what)") }
        }
        try need(learningRate > 0 && learningRate <= 1, "learning-rate", "is \(learningRate); it must lie in (0, 1]")
        try need(bufferSize >= 2 && bufferSize <= 10_000_000, "buffer-size", "must lie in 2 … 10⁷")
        try need(gamma >= 0 && gamma <= 1, "gamma", "must lie in [0, 1]")
        try need(
            targetUpdateFrequency >= 1 && targetUpdateFrequency <= 100_000_000, "target-update-frequency",
            "must lie in 1 … 10⁸")
        try need(batchSize >= 1 && batchSize <= 4096, "batch-size", "must lie in 1 … 4096")
        try need(sequenceLength >= 1 && sequenceLength <= 10_000, "sequence-length", "must lie in 1 … 10,000")
        try need(
            startEpsilon >= 0 && startEpsilon <= 1 && endEpsilon >= 0 && endEpsilon <= 1, "epsilon",
            "values must lie in [0, 1]")
        try need(explorationFraction > 0 && explorationFraction <= 1, "exploration-fraction", "must lie in (0, 1]")
        try need(learningStarts >= 1 && learningStarts <= 100_000_000, "learning-starts", "must lie in 1 … 10⁸")
        try need(learningStarts <= bufferSize, "learning-starts", "must be at most the buffer size")
        try need(trainFrequency >= 1 && trainFrequency <= 100_000, "train-frequency", "must lie in 1 … 100,000")
        try need(hiddenSize >= 1 && hiddenSize <= 4096, "hidden-size", "must lie in 1 … 4096")
        try need(maxGradNorm >= 0 && maxGradNorm.isFinite, "max-grad-norm", "must be ≥ 0 and finite")
        try need(totalSteps >= 1, "total-steps", "must be positive")
    }
}

/// The network: a GRU over standardised observations and a linear Q head, over one `ParameterStore`.
public final class RecurrentQNetwork {
    public let parameters = ParameterStore()
    public let gru: GRU
    public let head: Linear
    public let observationSize: Int, hiddenSize: Int, actionCount: Int
    var states: [Float] = []

    public init(observationSize: Int, hiddenSize: Int, actionCount: Int, seed: UInt64) {
        self.observationSize = observationSize
        self.hiddenSize = hiddenSize
        self.actionCount = actionCount
        gru = GRU(parameters, "gru", inputSize: observationSize, hiddenSize: hiddenSize)
        head = Linear(parameters, "head", hiddenSize, actionCount)
        var rng = Xoshiro256StarStar(seed: seed)
        parameters.finalize(rng: &rng)
    }

    /// Q-values after every step of B sequences of L steps from states h0 (time-major rows); also returns the states.
    func forward(_ xs: [Float], h0: [Float], steps L: Int, batch B: Int) -> (q: [Float], states: [Float]) {
        states = gru.forward(xs, h0: h0, steps: L, batch: B)
        var q = [Float](repeating: 0, count: L * B * actionCount)
        states.withUnsafeBufferPointer { s in
            q.withUnsafeMutableBufferPointer { head.forward(s.baseAddress!, $0.baseAddress!, rows: L * B) }
        }
        return (q, states)
    }

    /// Back-propagation of ∂loss/∂Q (time-major rows) through the last `forward`; adds into the gradients.
    func backward(_ dQ: [Float]) {
        var dStates = [Float](repeating: 0, count: states.count)
        states.withUnsafeBufferPointer { s in
            dQ.withUnsafeBufferPointer { d in
                dStates.withUnsafeMutableBufferPointer {
                    head.backward(s.baseAddress!, d.baseAddress!, $0.baseAddress!, rows: states.count / hiddenSize)
                }
            }
        }
        gru.backward(dStates)
    }

    func copyWeights(from other: RecurrentQNetwork) {
        parameters.values.update(from: other.parameters.values, count: parameters.count)
    }
}

public final class RecurrentDQNAgent: ResumableAgent {
    public let name = "rdqn"
    public let hyper: RecurrentDQNHyperparameters
    public let observationSize: Int, actionCount: Int
    public let q: RecurrentQNetwork, target: RecurrentQNetwork
    let optimizer: Adam
    public private(set) var normalizer: ObservationNormalizer
    public private(set) var step = 0
    var rng: Xoshiro256StarStar
    // The replay, a ring of transitions: observation, next observation, action, reward, whether the episode
    // terminated there, whether it ended there (terminated or cut), and the recurrent state before the step.
    var bufObs: [Float], bufNext: [Float], bufAction: [Int32], bufReward: [Float]
    var bufTerminal: [Bool], bufEnd: [Bool], bufState: [Float]
    var bufCount = 0, bufHead = 0
    // The recurrent state of the training episode and of the evaluation episode (kept apart, so a validation run in
    // the middle of a training episode does not disturb it), and the training state before the last action.
    var trainState: [Float], evalState: [Float], stateBefore: [Float]

    public init(
        observationSize: Int, actionCount: Int, hyper: RecurrentDQNHyperparameters = .init(), seed: UInt64
    ) throws {
        try hyper.validate()
        self.hyper = hyper
        self.observationSize = observationSize
        self.actionCount = actionCount
        q = RecurrentQNetwork(
            observationSize: observationSize, hiddenSize: hyper.hiddenSize, actionCount: actionCount, seed: seed)
        target = RecurrentQNetwork(
            observationSize: observationSize, hiddenSize: hyper.hiddenSize, actionCount: actionCount, seed: seed)
        target.copyWeights(from: q)
        optimizer = Adam(q.parameters, learningRate: hyper.learningRate)
        normalizer = ObservationNormalizer(dimension: observationSize)
        rng = Xoshiro256StarStar(seed: seed ^ 0x6E0_D0D0)
        let n = hyper.bufferSize
        bufObs = [Float](repeating: 0, count: n * observationSize)
        bufNext = bufObs
        bufAction = [Int32](repeating: 0, count: n)
        bufReward = [Float](repeating: 0, count: n)
        bufTerminal = [Bool](repeating: false, count: n)
        bufEnd = bufTerminal
        bufState = [Float](repeating: 0, count: n * hyper.hiddenSize)
        trainState = [Float](repeating: 0, count: hyper.hiddenSize)
        evalState = trainState
        stateBefore = trainState
    }

    /// ε at the current step (linear decay over explorationFraction·totalSteps).
    public var epsilon: Double {
        linearEpsilon(
            step: step, start: hyper.startEpsilon, end: hyper.endEpsilon, fraction: hyper.explorationFraction,
            totalSteps: hyper.totalSteps)
    }

    public func beginEpisode(training: Bool) {
        let zero = [Float](repeating: 0, count: hyper.hiddenSize)
        if training { trainState = zero } else { evalState = zero }
    }

    func standardised(_ observation: [Float]) -> [Float] {
        var x = [Float](repeating: 0, count: observationSize)
        x.withUnsafeMutableBufferPointer { normalizer.apply(observation, into: $0.baseAddress!) }
        return x
    }

    /// Advances the recurrent state by `observation` (the training episode's with `explore`, else the evaluation
    /// episode's) and acts ε-greedily (explore) or greedily on the Q-values of the new state.
    public func act(_ observation: [Float], explore: Bool) -> Int {
        precondition(
            observation.count == observationSize,
            "observation has \(observation.count) values, the network expects \(observationSize)")
        let before = explore ? trainState : evalState
        let (qv, states) = q.forward(standardised(observation), h0: before, steps: 1, batch: 1)
        if explore {
            stateBefore = before
            trainState = states
        } else {
            evalState = states
        }
        if explore && rng.uniform() < epsilon { return rng.uniformInt(actionCount) }
        return qv.indices.max { qv[$0] < qv[$1] }!
    }

    public func endEpisode(return: Double) { beginEpisode(training: true) }

    public func observe(_ t: Transition) -> [String: Double] {
        step += 1
        if step <= hyper.learningStarts { normalizer.update(t.observation) }
        let (D, H, i) = (observationSize, hyper.hiddenSize, bufHead)
        for j in 0..<D {
            bufObs[i * D + j] = t.observation[j]
            bufNext[i * D + j] = t.nextObservation[j]
        }
        for j in 0..<H { bufState[i * H + j] = stateBefore[j] }
        bufAction[i] = Int32(t.action)
        bufReward[i] = Float(t.reward)
        bufTerminal[i] = t.terminated
        bufEnd[i] = t.terminated || t.done
        bufHead = (bufHead + 1) % hyper.bufferSize
        bufCount = min(bufCount + 1, hyper.bufferSize)
        var metrics: [String: Double] = ["epsilon": epsilon]
        if step > hyper.learningStarts && step % hyper.trainFrequency == 0 { metrics["loss"] = learn() }
        if step % hyper.targetUpdateFrequency == 0 { target.copyWeights(from: q) }
        return metrics
    }

    /// The stretch of stored transitions from ring index `start`: at most `sequenceLength` of them, ending at the
    /// first episode end or before the ring's write position.
    func stretch(from start: Int) -> Int {
        var k = 0
        var i = start
        while k < hyper.sequenceLength {
            k += 1
            if bufEnd[i] { break }
            i = (i + 1) % hyper.bufferSize
            if i == bufHead { break }
        }
        return k
    }

    /// One gradient step on `batchSize` replayed stretches; returns the mean Huber loss per step.
    func learn() -> Double {
        let (B, D, H, A) = (hyper.batchSize, observationSize, hyper.hiddenSize, actionCount)
        let n = hyper.bufferSize
        // Stretch starts: any stored transition (the ring's oldest ones included).
        var starts = [Int](repeating: 0, count: B)
        var lengths = [Int](repeating: 0, count: B)
        let oldest = bufCount < n ? 0 : bufHead
        for b in 0..<B {
            starts[b] = (oldest + rng.uniformInt(bufCount)) % n
            lengths[b] = stretch(from: starts[b])
        }
        let L = lengths.max() ?? 1
        // Inputs, time-major, L + 1 steps: the stretch's observations, then its last next observation (padding
        // repeats it; padded steps take no part in the loss).
        let steps = L + 1
        var xs = [Float](repeating: 0, count: steps * B * D)
        var h0 = [Float](repeating: 0, count: B * H)
        for b in 0..<B {
            for j in 0..<H { h0[b * H + j] = bufState[starts[b] * H + j] }
            xs.withUnsafeMutableBufferPointer { xp in
                for t in 0..<steps {
                    let m = min(t, lengths[b])
                    let idx = (starts[b] + min(m, lengths[b] - 1)) % n
                    let out = xp.baseAddress! + (t * B + b) * D
                    if m < lengths[b] {
                        bufObs.withUnsafeBufferPointer { normalizer.apply($0.baseAddress! + idx * D, into: out) }
                    } else {
                        bufNext.withUnsafeBufferPointer { normalizer.apply($0.baseAddress! + idx * D, into: out) }
                    }
                }
            }
        }
        let online = q.forward(xs, h0: h0, steps: steps, batch: B)
        let tq = target.forward(xs, h0: h0, steps: steps, batch: B).q
        var dQ = [Float](repeating: 0, count: steps * B * A)
        var loss = 0.0
        var count = 0
        for b in 0..<B {
            for m in 0..<lengths[b] {
                let idx = (starts[b] + m) % n
                // Q of the next observation is the output after step m + 1 (double DQN: online argmax, target value).
                let next = ((m + 1) * B + b) * A
                var best = 0
                for a in 1..<A where online.q[next + a] > online.q[next + best] { best = a }
                let y = bufReward[idx] + (bufTerminal[idx] ? 0 : Float(hyper.gamma) * tq[next + best])
                let row = (m * B + b) * A
                let a = Int(bufAction[idx])
                let delta = online.q[row + a] - y
                loss += Double(abs(delta) <= 1 ? 0.5 * delta * delta : abs(delta) - 0.5)
                dQ[row + a] = max(-1, min(1, delta))
                count += 1
            }
        }
        let scale = 1 / Float(max(count, 1))
        for i in 0..<dQ.count { dQ[i] *= scale }
        q.parameters.zeroGrads()
        q.backward(dQ)
        optimizer.clipGradients(maxNorm: hyper.maxGradNorm)
        optimizer.update()
        return loss / Double(max(count, 1))
    }

    // MARK: Files

    /// Saves the policy (weights, normaliser, hyper-parameters, step); with `full`, everything a resumed session
    /// needs to continue bit for bit (target network, Adam moments, replay, generator, recurrent states).
    public func save(to path: String, full: Bool) throws {
        try PolicyFile.write(path, agent: name) { f in
            try PolicyFile.writeHeader(
                f, hyper: hyper, observationSize: observationSize, actionCount: actionCount, normalizer: normalizer)
            try f.setAttribute("step", step)
            try q.parameters.write(to: f, prefix: "q")
            guard full else { return }
            let n = hyper.bufferSize
            try target.parameters.write(to: f, prefix: "target")
            try f.write("optimizer/m", optimizer.m, shape: [optimizer.m.count])
            try f.write("optimizer/v", optimizer.v, shape: [optimizer.v.count])
            try f.setAttribute("optimizer_step", optimizer.step)
            try f.write("replay/observation", bufObs, shape: [n, observationSize])
            try f.write("replay/next_observation", bufNext, shape: [n, observationSize])
            try f.write("replay/action", bufAction.map { Int64($0) }, shape: [n])
            try f.write("replay/reward", bufReward, shape: [n])
            try f.write("replay/terminal", bufTerminal.map { Int64($0 ? 1 : 0) }, shape: [n])
            try f.write("replay/end", bufEnd.map { Int64($0 ? 1 : 0) }, shape: [n])
            try f.write("replay/state", bufState, shape: [n, hyper.hiddenSize])
            try f.setAttribute("replay_count", bufCount)
            try f.setAttribute("replay_head", bufHead)
            try f.write("rng", rng.stateWords, shape: [4])
            try f.write("state/train", trainState, shape: [hyper.hiddenSize])
            try f.write("state/before", stateBefore, shape: [hyper.hiddenSize])
        }
    }

    public func save(to path: String) throws { try save(to: path, full: false) }
    public func saveCheckpoint(to path: String) throws { try save(to: path, full: true) }

    /// Loads a policy (or a full training checkpoint) written by `save`.
    public static func load(_ path: String, hyperOverride: RecurrentDQNHyperparameters? = nil) throws
        -> RecurrentDQNAgent
    {
        let f = try HDF5File.open(path)
        defer { f.close() }
        let header = try PolicyFile.Header<RecurrentDQNHyperparameters>(f, path: path, agent: "rdqn")
        var hyper = header.hyper
        if let hyperOverride { hyper.totalSteps = hyperOverride.totalSteps }
        let agent = try RecurrentDQNAgent(
            observationSize: header.observationSize, actionCount: header.actionCount, hyper: hyper, seed: 0)
        try agent.q.parameters.read(from: f, prefix: "q")
        agent.normalizer = header.normalizer
        agent.step = Int(try f.doubleAttribute("step") ?? 0)
        if f.exists("target/head.weight") {
            try agent.target.parameters.read(from: f, prefix: "target")
            let m = try f.readFloat("optimizer/m").data
            let v = try f.readFloat("optimizer/v").data
            agent.optimizer.restore(m: m, v: v, step: Int(try f.doubleAttribute("optimizer_step") ?? 0))
            agent.bufObs = try f.readFloat("replay/observation").data
            agent.bufNext = try f.readFloat("replay/next_observation").data
            agent.bufAction = try f.readInt64("replay/action").data.map { Int32($0) }
            agent.bufReward = try f.readFloat("replay/reward").data
            agent.bufTerminal = try f.readInt64("replay/terminal").data.map { $0 != 0 }
            agent.bufEnd = try f.readInt64("replay/end").data.map { $0 != 0 }
            agent.bufState = try f.readFloat("replay/state").data
            agent.bufCount = Int(try f.doubleAttribute("replay_count") ?? 0)
            agent.bufHead = Int(try f.doubleAttribute("replay_head") ?? 0)
            agent.rng = Xoshiro256StarStar(state: try f.readUInt64("rng").data)
            agent.trainState = try f.readFloat("state/train").data
            agent.stateBefore = try f.readFloat("state/before").data
        } else {
            agent.target.copyWeights(from: agent.q)
        }
        return agent
    }
}
