import Foundation
import LeonardoSim
import MicroscopeGym

/// What a scientist needs to analyse what an agent did: every step of evaluation episodes with the observed segment
/// (NaN where the particle was lost), the true positions behind it, the settings, dose, damage, signal, reward and
/// the full info, and each episode's hidden particle (sensitivity, contrast, range scale) and latent path.
///
/// `write(_:)` stores it as HDF5 (format `microscopegym.recording/1`, one row per step across all episodes; the
/// schema is in docs/agents.md, "Recordings"); `gym-runner evaluate --record OUT.h5` writes one. Recording changes
/// nothing in the episodes: the agent sees what `Evaluation.run` shows it.
public struct EpisodeRecording: Equatable {
    public static let format = "microscopegym.recording/1"

    public var environment: String
    public var agent: String
    public var frames: Int
    public var latentDimension: Int
    public var infoKeys = LiquidCell.infoKeys
    // Per episode.
    public var seeds: [UInt64] = []
    public var firstStep: [Int64] = []
    public var lengths: [Int64] = []
    public var returns: [Double] = []
    /// ln(D_c,particle / D_c), ln κ and ln m of each episode's particle (`LiquidCell.privilegedNames`).
    public var logCriticalDoseRatio: [Double] = []
    public var logContrast: [Double] = []
    public var logParticleScale: [Double] = []
    /// The reset's search segment (episodes × frames × 2): observed (NaN where lost) and true positions, nm.
    public var resetObserved: [Float] = []
    public var resetTrue: [Float] = []
    // Per step.
    public var episode: [Int64] = []
    public var step: [Int64] = []
    public var action: [Int64] = []
    public var doseRate: [Double] = []
    public var frameRate: [Double] = []
    public var reward: [Double] = []
    public var terminated: [Int64] = []
    public var truncated: [Int64] = []
    /// steps × frames × 2, nm.
    public var observed: [Float] = []
    public var truePositions: [Float] = []
    /// steps × `infoKeys.count`.
    public var info: [Double] = []
    /// steps × latent dimension: the latent state after the step (its dose coordinate included).
    public var latent: [Double] = []

    public var stepCount: Int { episode.count }

    /// Whether the last episode begun has not been ended (`endEpisode`).
    public var episodeOpen: Bool { lengths.count < seeds.count }

    /// Starts an episode: `environment` has just been reset with `seed` (UInt64.max when the reset continued the
    /// generator), giving `observation` (its raw segment, NaN where lost). An episode still open is ended first.
    public mutating func beginEpisode(seed: UInt64, environment env: LiquidCell, observation o: [String: [Float]]) {
        if episodeOpen { endEpisode() }
        seeds.append(seed)
        firstStep.append(Int64(stepCount))
        let hidden = env.hiddenState
        logCriticalDoseRatio.append(Double(hidden[0]))
        logContrast.append(Double(hidden[1]))
        logParticleScale.append(Double(hidden[2]))
        resetObserved += o["segment"]!
        resetTrue += env.lastTrueSegment.map { Float($0) }
    }

    /// Adds the step `s` that `environment` just made with discrete `action` (its observation's raw segment); ends
    /// the episode when the step did.
    public mutating func add(_ s: Step<[String: [Float]]>, action a: Int, environment env: LiquidCell) {
        // The setting the step applied (a continuous agent's own, which `a`, its nearest grid action, only approximates).
        let (d, f) = (env.doseRate, env.frameRate)
        episode.append(Int64(seeds.count - 1))
        step.append(Int64(stepCount) - (firstStep.last ?? 0))
        action.append(Int64(a))
        doseRate.append(d)
        frameRate.append(f)
        reward.append(s.reward)
        terminated.append(s.terminated ? 1 : 0)
        truncated.append(s.truncated ? 1 : 0)
        observed += s.observation["segment"]!
        truePositions += env.lastTrueSegment.map { Float($0) }
        info += infoKeys.map { s.info[$0] ?? .nan }
        latent += env.hiddenState[3...].map { Double($0) }
        if s.done { endEpisode() }
    }

    /// Closes the open episode: its length and return from the steps recorded since it began.
    public mutating func endEpisode() {
        guard episodeOpen else { return }
        let first = Int(firstStep.last ?? 0)
        lengths.append(Int64(stepCount - first))
        returns.append(reward[first...].reduce(0, +))
    }

    /// Runs `agent` greedily on `environment` for `seeds` (`Evaluation.run`) and records every step.
    public static func record<A: Agent>(_ agent: inout A, environment: LiquidCell, seeds: [UInt64]) throws
        -> EpisodeRecording
    {
        var r: EpisodeRecording? = EpisodeRecording(environment: environment, agent: agent.name)
        _ = try Evaluation.run(&agent, environment: environment, seeds: seeds, recording: &r)
        return r!
    }

    /// Writes the recording atomically (temporary file, then rename); the same recording gives the same bytes. An
    /// episode still open is written as ended where it stands.
    public func write(_ path: String) throws {
        var closed = self
        closed.endEpisode()
        try closed.writeClosed(path)
    }

    private func writeClosed(_ path: String) throws {
        let S = stepCount
        let E = seeds.count
        try writeHDF5Atomically(path) { f in
            try f.setAttribute("format", EpisodeRecording.format)
            try f.setAttribute("environment", environment)
            try f.setAttribute("agent", agent)
            try f.setAttribute("info_keys", String(decoding: try JSONEncoder().encode(infoKeys), as: UTF8.self))
            try f.write("episode_seed", seeds, shape: [E])
            try f.write("episode_first_step", firstStep, shape: [E])
            try f.write("episode_length", lengths, shape: [E])
            try f.write("episode_return", returns, shape: [E])
            try f.write("episode_log_critical_dose_ratio", logCriticalDoseRatio, shape: [E])
            try f.write("episode_log_contrast", logContrast, shape: [E])
            try f.write("episode_log_particle_scale", logParticleScale, shape: [E])
            try f.write("reset_observed", resetObserved, shape: [E, frames, 2])
            try f.write("reset_true_positions", resetTrue, shape: [E, frames, 2])
            try f.write("step_episode", episode, shape: [S])
            try f.write("step_index", step, shape: [S])
            try f.write("action", action, shape: [S])
            try f.write("dose_rate", doseRate, shape: [S])
            try f.write("frame_rate", frameRate, shape: [S])
            try f.write("reward", reward, shape: [S])
            try f.write("terminated", terminated, shape: [S])
            try f.write("truncated", truncated, shape: [S])
            try f.write("observed", observed, shape: [S, frames, 2])
            try f.write("true_positions", truePositions, shape: [S, frames, 2])
            try f.write("info", info, shape: [S, infoKeys.count])
            try f.write("latent", latent, shape: [S, latentDimension])
        }
    }
}

extension EpisodeRecording {
    /// An empty recording of `environment`'s episodes played by `agent`.
    public init(environment: LiquidCell, agent: String) {
        self.init(
            environment: environment.spec.id, agent: agent, frames: environment.spec.segmentFrames,
            latentDimension: environment.model.config.latentDim)
    }
}
