import ArgumentParser
import Foundation
import LeonardoSim
import MicroscopeGym
import Agents

extension AgentKind: ExpressibleByArgument {}

/// DQN hyper-parameters as flags (defaults from `DQNHyperparameters`).
struct DQNOptions: ParsableArguments {
    @Option(help: "DQN: Adam learning rate.") var learningRate: Float = DQNHyperparameters().learningRate
    @Option(help: "DQN: replay buffer size.") var bufferSize: Int = DQNHyperparameters().bufferSize
    @Option(help: "DQN: discount factor.") var gamma: Double = DQNHyperparameters().gamma
    @Option(help: "DQN: target update rate (1 = hard copy).") var tau: Float = DQNHyperparameters().tau
    @Option(help: "DQN: steps between target updates.") var targetUpdateFrequency: Int = DQNHyperparameters()
        .targetUpdateFrequency
    @Option(help: "DQN: minibatch size.") var batchSize: Int = DQNHyperparameters().batchSize
    @Option(help: "DQN: initial ε.") var startEpsilon: Double = DQNHyperparameters().startEpsilon
    @Option(help: "DQN: final ε.") var endEpsilon: Double = DQNHyperparameters().endEpsilon
    @Option(help: "DQN: fraction of the steps over which ε decays.") var explorationFraction: Double =
        DQNHyperparameters().explorationFraction
    @Option(help: "DQN: random steps before learning.") var learningStarts: Int = DQNHyperparameters().learningStarts
    @Option(help: "DQN: environment steps per gradient step.") var trainFrequency: Int = DQNHyperparameters()
        .trainFrequency
    @Option(help: "DQN: hidden layer widths, comma-separated.") var hiddenSizes: String = DQNHyperparameters()
        .hiddenSizes.map(String.init).joined(separator: ",")
    @Option(help: "DQN: gradient-norm clip (0 disables).") var maxGradNorm: Double = DQNHyperparameters().maxGradNorm
    @Option(help: "DQN: n of n-step returns (1: one-step targets).") var multiStep: Int = DQNHyperparameters().multiStep
    @Option(help: "DQN: hold exploratory actions for n ~ zeta(μ) steps (0: plain ε-greedy).")
    var explorationDurationExponent: Double = DQNHyperparameters().explorationDurationExponent

    func hyper(totalSteps: Int) throws -> DQNHyperparameters {
        var h = DQNHyperparameters()
        h.learningRate = learningRate
        h.bufferSize = bufferSize
        h.gamma = gamma
        h.tau = tau
        h.targetUpdateFrequency = targetUpdateFrequency
        h.batchSize = batchSize
        h.startEpsilon = startEpsilon
        h.endEpsilon = endEpsilon
        h.explorationFraction = explorationFraction
        h.learningStarts = learningStarts
        h.trainFrequency = trainFrequency
        h.maxGradNorm = maxGradNorm
        h.totalSteps = totalSteps
        h.explorationDurationExponent = explorationDurationExponent
        h.multiStep = multiStep
        let sizes = hiddenSizes.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !sizes.isEmpty, sizes.allSatisfy({ ($0 ?? 0) >= 1 }) else {
            throw UserError("--hidden-sizes must be positive integers like 64,64, got '\(hiddenSizes)'")
        }
        h.hiddenSizes = sizes.map { $0! }
        try h.validate()
        return h
    }
}

/// Recurrent DQN hyper-parameters as flags (defaults from `RecurrentDQNHyperparameters`), every one prefixed --rdqn-.
struct RecurrentDQNOptions: ParsableArguments {
    static let d = RecurrentDQNHyperparameters()
    @Option(name: .customLong("rdqn-learning-rate"), help: "Recurrent DQN: Adam learning rate.")
    var learningRate: Float = d.learningRate
    @Option(name: .customLong("rdqn-buffer-size"), help: "Recurrent DQN: transitions kept in the replay.")
    var bufferSize: Int = d.bufferSize
    @Option(name: .customLong("rdqn-gamma"), help: "Recurrent DQN: discount factor.") var gamma: Double = d.gamma
    @Option(
        name: .customLong("rdqn-target-update-frequency"), help: "Recurrent DQN: steps between target-network copies.")
    var targetUpdateFrequency: Int = d.targetUpdateFrequency
    @Option(name: .customLong("rdqn-batch-size"), help: "Recurrent DQN: replayed stretches per gradient step.")
    var batchSize: Int = d.batchSize
    @Option(name: .customLong("rdqn-sequence-length"), help: "Recurrent DQN: longest stretch unrolled (steps).")
    var sequenceLength: Int = d.sequenceLength
    @Option(name: .customLong("rdqn-start-epsilon"), help: "Recurrent DQN: initial ε.") var startEpsilon: Double =
        d.startEpsilon
    @Option(name: .customLong("rdqn-end-epsilon"), help: "Recurrent DQN: final ε.") var endEpsilon: Double =
        d.endEpsilon
    @Option(name: .customLong("rdqn-exploration-fraction"), help: "Recurrent DQN: fraction of the steps ε decays over.")
    var explorationFraction: Double = d.explorationFraction
    @Option(name: .customLong("rdqn-learning-starts"), help: "Recurrent DQN: random steps before learning.")
    var learningStarts: Int = d.learningStarts
    @Option(name: .customLong("rdqn-train-frequency"), help: "Recurrent DQN: environment steps per gradient step.")
    var trainFrequency: Int = d.trainFrequency
    @Option(name: .customLong("rdqn-hidden-size"), help: "Recurrent DQN: width of the GRU state.")
    var hiddenSize: Int = d.hiddenSize
    @Option(name: .customLong("rdqn-max-grad-norm"), help: "Recurrent DQN: gradient-norm clip (0 disables).")
    var maxGradNorm: Double = d.maxGradNorm

    func hyper(totalSteps: Int) throws -> RecurrentDQNHyperparameters {
        var h = RecurrentDQNHyperparameters()
        h.learningRate = learningRate
        h.bufferSize = bufferSize
        h.gamma = gamma
        h.targetUpdateFrequency = targetUpdateFrequency
        h.batchSize = batchSize
        h.sequenceLength = sequenceLength
        h.startEpsilon = startEpsilon
        h.endEpsilon = endEpsilon
        h.explorationFraction = explorationFraction
        h.learningStarts = learningStarts
        h.trainFrequency = trainFrequency
        h.hiddenSize = hiddenSize
        h.maxGradNorm = maxGradNorm
        h.totalSteps = totalSteps
        try h.validate()
        return h
    }
}

/// The defaults of the PPO flags.
private let ppoDefaults = PPOHyperparameters.benchmark

/// PPO hyper-parameters as flags (defaults from `PPOHyperparameters.benchmark`), prefixed --ppo- where DQN has the same name.
struct PPOOptions: ParsableArguments {
    @Option(name: .customLong("ppo-learning-rate"), help: "PPO: Adam learning rate.")
    var learningRate: Float = ppoDefaults.learningRate
    @Flag(inversion: .prefixedNo, help: "PPO: anneal the learning rate linearly to 0.")
    var annealLearningRate = ppoDefaults.annealLearningRate
    @Option(help: "PPO: environment steps per rollout.") var rolloutSteps: Int = ppoDefaults.rolloutSteps
    @Option(name: .customLong("ppo-gamma"), help: "PPO: discount factor.") var gamma: Double = ppoDefaults.gamma
    @Option(help: "PPO: λ of generalised advantage estimation.") var gaeLambda: Double = ppoDefaults.gaeLambda
    @Option(help: "PPO: minibatches per rollout.") var minibatches: Int = ppoDefaults.minibatches
    @Option(help: "PPO: epochs over each rollout.") var updateEpochs: Int = ppoDefaults.updateEpochs
    @Option(help: "PPO: clip range of the probability ratio and of the value update.")
    var clipCoefficient: Double = ppoDefaults.clipCoefficient
    @Flag(inversion: .prefixedNo, help: "PPO: clip the value loss.") var clipValueLoss = ppoDefaults.clipValueLoss
    @Option(help: "PPO: entropy bonus coefficient.") var entropyCoefficient: Double = ppoDefaults.entropyCoefficient
    @Option(help: "PPO: value loss coefficient.") var valueCoefficient: Double = ppoDefaults.valueCoefficient
    @Option(name: .customLong("ppo-max-grad-norm"), help: "PPO: gradient-norm clip (0 disables).")
    var maxGradNorm: Double = ppoDefaults.maxGradNorm
    @Flag(inversion: .prefixedNo, help: "PPO: normalise advantages within each minibatch.")
    var normalizeAdvantages = ppoDefaults.normalizeAdvantages
    @Option(name: .customLong("ppo-hidden-sizes"), help: "PPO: hidden layer widths, comma-separated.")
    var hiddenSizes: String = ppoDefaults.hiddenSizes.map(String.init).joined(separator: ",")
    @Option(
        name: .customLong("ppo-envs"),
        help: "PPO: environments stepped together, their decoder calls batched (--rollout-steps counts all of them).")
    var environments: Int = ppoDefaults.environments
    @Flag(
        inversion: .prefixedNo,
        help: "PPO: a Gaussian policy over log dose rate and log frame rate, inside the spec's ranges, not the grid.")
    var ppoContinuous = ppoDefaults.continuousActions
    @Option(
        help:
            "PPO (continuous): initial log standard deviation, in units of half the log range (a negative value as =-1)."
    )
    var ppoInitialLogStd: Float = ppoDefaults.initialLogStd

    func hyper(totalSteps: Int) throws -> PPOHyperparameters {
        var h = ppoDefaults
        (h.learningRate, h.annealLearningRate, h.rolloutSteps, h.totalSteps) =
            (learningRate, annealLearningRate, rolloutSteps, totalSteps)
        (h.gamma, h.gaeLambda, h.minibatches, h.updateEpochs) = (gamma, gaeLambda, minibatches, updateEpochs)
        (h.clipCoefficient, h.clipValueLoss, h.normalizeAdvantages) =
            (clipCoefficient, clipValueLoss, normalizeAdvantages)
        (h.entropyCoefficient, h.valueCoefficient, h.maxGradNorm) = (entropyCoefficient, valueCoefficient, maxGradNorm)
        let sizes = hiddenSizes.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !sizes.isEmpty, sizes.count == hiddenSizes.split(separator: ",").count else {
            throw UserError("--ppo-hidden-sizes must be positive integers like 64,64, got '\(hiddenSizes)'")
        }
        h.hiddenSizes = sizes
        (h.environments, h.continuousActions, h.initialLogStd) = (environments, ppoContinuous, ppoInitialLogStd)
        try h.validate()
        return h
    }
}

/// CEM hyper-parameters as flags (defaults from `CEMHyperparameters`).
struct CEMOptions: ParsableArguments {
    @Option(help: "CEM: candidates per generation.") var population: Int = CEMHyperparameters().population
    @Option(help: "CEM: fraction of candidates kept as the elite.") var eliteFraction: Double = CEMHyperparameters()
        .eliteFraction
    @Option(help: "CEM: initial standard deviation of the parameters.") var initialStd: Double = CEMHyperparameters()
        .initialStd
    @Option(help: "CEM: noise added to the refitted standard deviation.") var extraNoise: Double = CEMHyperparameters()
        .extraNoise
    @Option(help: "CEM: episodes that score one candidate.") var episodesPerCandidate: Int = CEMHyperparameters()
        .episodesPerCandidate
    func hyper() throws -> CEMHyperparameters {
        var h = CEMHyperparameters()
        h.population = population
        h.eliteFraction = eliteFraction
        h.initialStd = initialStd
        h.extraNoise = extraNoise
        h.episodesPerCandidate = episodesPerCandidate
        try h.validate()
        return h
    }
}
