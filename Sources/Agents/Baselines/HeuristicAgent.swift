import Foundation
import LeonardoSim
import MicroscopeGym

/// A readable rule a microscopist would use on the liquid cell (observation = `FlattenObservation` with keys
/// ["features", "instrument"]): choose the dose from the damage so far (high while the specimen is fresh,
/// stepping down as damage grows), and the frame rate from the motion — slow down when the particle is lost
/// in many frames (too few electrons per frame), speed up when it moves fast (large steps, escaping).
public struct HeuristicAgent: Agent {
    public let name = "heuristic"
    public let doseRates: [Double], frameRates: [Double]
    /// Damage thresholds → dose rate: below damageSteps[i] use doseSchedule[i].
    public var damageSteps: [Float] = [0.3, 0.6, 0.85]
    public var doseSchedule: [Double] = [10, 5, 2]
    public var lateDose: Double = 1
    /// Minimum tracked fraction before the frame rate is lowered.
    public var minTracked: Float = 0.85
    /// log₁₀ mean step (nm) above which the particle counts as escaping (faster frames).
    public var fastStep: Float = 0.9

    // The inputs it reads, by name (flattened features + instrument).
    static let damage = LiquidCell.flatIndex(of: "damage")!
    static let tracked = LiquidCell.flatIndex(of: "tracked_fraction")!
    static let logStep = LiquidCell.flatIndex(of: "log10_mean_step_nm")!
    static let frameRate = LiquidCell.flatIndex(of: "frame_rate")!

    public init(doseRates: [Double], frameRates: [Double]) {
        self.doseRates = doseRates
        self.frameRates = frameRates
    }

    func nearest(_ v: Double, in grid: [Double]) -> Int {
        grid.indices.min { abs(log(grid[$0] / v)) < abs(log(grid[$1] / v)) }!
    }

    public mutating func act(_ o: [Float], explore: Bool) -> Int {
        let damage = o[HeuristicAgent.damage]
        let tracked = o[HeuristicAgent.tracked]
        let logStep = o[HeuristicAgent.logStep]
        let currentFrame = o[HeuristicAgent.frameRate]
        var dose = lateDose
        for (i, t) in damageSteps.enumerated() where damage < t {
            dose = doseSchedule[i]
            break
        }
        // Frame rate: the middle of the grid by default; slower if the particle is lost, faster if it escapes.
        var f = frameRates.count / 2
        if tracked < minTracked {
            f = max(0, Int((currentFrame * Float(frameRates.count - 1)).rounded()) - 1)
        } else if logStep > fastStep {
            f = frameRates.count - 1
        }
        return nearest(dose, in: doseRates) * frameRates.count + f
    }
    public func save(to path: String) throws {
        try PolicyFile.write(path, agent: name) { _ in }
    }
}
