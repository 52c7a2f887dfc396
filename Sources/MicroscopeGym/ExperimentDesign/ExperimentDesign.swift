import Foundation
import LeonardoSim

/// The outcome of running episodes with one fixed microscope setting.
public struct SettingResult: Codable, Equatable, Sendable {
    public var doseRate: Double
    public var frameRate: Double
    public var episodeReturn: Estimate
    /// Summed signal (bits per frame, summed over the episode's segments).
    public var signal: Estimate
    /// Damage fraction at the end of the episode.
    public var damage: Estimate
    /// Steps per episode.
    public var length: Estimate
    /// Fraction of episodes that ended with the specimen destroyed.
    public var destroyedFraction: Double
    /// The return of each episode, in seed order (paired across settings: episode e uses seed + e everywhere).
    public var episodeReturns: [Double] = []
}

/// In-silico experiment design: fixed-setting evaluations of a liquid cell.
public enum ExperimentDesign {
    /// Runs `episodes` episodes (seeds seed, seed+1, …) holding dose rate and frame rate fixed.
    public static func evaluate(
        _ environment: LiquidCell, doseRate: Double, frameRate: Double, episodes: Int,
        seed: UInt64
    ) throws -> SettingResult {
        var env = environment
        var returns: [Double] = []
        var signals: [Double] = []
        var damages: [Double] = []
        var lengths: [Double] = []
        var destroyed = 0
        for e in 0..<episodes {
            _ = try env.reset(seed: seed &+ UInt64(e), options: [:])
            var total = 0.0
            var signal = 0.0
            var n = 0
            while true {
                let s = try env.step(doseRate: doseRate, frameRate: frameRate)
                total += s.reward
                signal += s.info["signal_bits_per_frame"] ?? 0
                n += 1
                if s.done {
                    if s.terminated { destroyed += 1 }
                    break
                }
            }
            returns.append(total)
            signals.append(signal)
            damages.append(env.damage)
            lengths.append(Double(n))
        }
        return SettingResult(
            doseRate: doseRate, frameRate: frameRate, episodeReturn: Estimate(returns), signal: Estimate(signals),
            damage: Estimate(damages), length: Estimate(lengths),
            destroyedFraction: Double(destroyed) / Double(max(episodes, 1)), episodeReturns: returns)
    }
}
