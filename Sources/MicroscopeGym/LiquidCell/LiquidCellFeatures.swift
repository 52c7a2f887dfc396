import Foundation
import LeonardoSim

extension LiquidCell {
    /// Features of an observed segment (T×2, NaN where lost): lost frames take the last tracked position (the
    /// tracker holds its estimate), then `TrajectoryStatistics` of the normalised segment and step sizes in nm.
    public static func features(_ observed: [Float], length T: Int, detected: Int) -> [Float] {
        var out = [Float](repeating: 0, count: featureNames.count)
        out[featureIndex["tracked_fraction"]!] = Float(detected) / Float(T)
        guard detected >= 3 else { return out }
        var filled = observed
        var firstValid = 0
        while filled[2 * firstValid].isNaN { firstValid += 1 }
        for i in 0..<T {
            if filled[2 * i].isNaN {
                let src = i < firstValid ? firstValid : i - 1
                filled[2 * i] = filled[2 * src]
                filled[2 * i + 1] = filled[2 * src + 1]
            }
        }
        let normalized = TrajectoryNormalization.normalize(filled, length: T).normalized
        let stats = TrajectoryStatistics(trajectory: normalized)
        var steps = [Double]()
        var sum = 0.0
        for i in 1..<T {
            let dx = Double(filled[2 * i] - filled[2 * i - 2])
            let dy = Double(filled[2 * i + 1] - filled[2 * i - 1])
            let s = (dx * dx + dy * dy).squareRoot()
            steps.append(s)
            sum += s
        }
        let mean = sum / Double(T - 1)
        let std = (steps.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(T - 1)).squareRoot()
        let sorted = steps.sorted()
        let msd = filled.withUnsafeBufferPointer {
            MSD.timeAveraged($0.baseAddress!, length: T, maxLag: min(10, T - 1))
        }
        let alpha = MSD.exponent(msd)
        let values: [(String, Double)] = [
            ("log10_mean_step_nm", log10(mean + 0.01)), ("log10_step_std_nm", log10(std + 0.01)),
            ("step_skewness", max(-10, min(10, stats.stepSkewness))),
            ("log10_step_kurtosis", log10(max(stats.stepKurtosis, 1e-3))),
            ("log10_median_step_nm", log10(sorted[(T - 2) / 2] + 0.01)), ("vacf_1", stats.velocityAutocorrelation[0]),
            ("vacf_2", stats.velocityAutocorrelation[1]), ("vacf_3", stats.velocityAutocorrelation[2]),
            ("position_acf_1", stats.positionAutocorrelation[0]), ("xy_step_correlation", stats.xyStepCorrelation),
            ("msd_exponent", alpha.isFinite ? alpha : 0)
        ]
        for (name, v) in values { out[featureIndex[name]!] = Float(v) }
        return out
    }
}
