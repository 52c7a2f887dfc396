import Foundation
import LeonardoSim

extension LiquidCell {
    /// The same microscope around a small random LEONARDO (`LeonardoConfig.tiny`, seeded) with this environment's
    /// segment length, latent size and dose calibration: instrument, damage, budgets and rewards work as in the real
    /// environment at a fraction of the cost, but the trajectories are not realistic. For tests, soak runs and
    /// examples; `edit` may change the spec first (e.g. shorter segments, which shorten the decoder too).
    public func withSmallRandomDecoder(seed: UInt64 = 1, editing edit: (inout LiquidCellSpec) -> Void = { _ in })
        throws -> LiquidCell
    {
        var spec = self.spec
        edit(&spec)
        var config = LeonardoConfig.tiny
        config.length = spec.segmentFrames
        config.latentDim = model.config.latentDim
        let small = try Leonardo(config: config, seed: seed)
        small.doseCalibration = calibration
        return try LiquidCell(spec: spec, model: small)
    }
}
