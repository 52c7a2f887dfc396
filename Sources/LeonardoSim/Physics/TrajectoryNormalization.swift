import Foundation

/// Per-trajectory normalisation of the LEONARDO paper (appendix A, eq. 6): subtract the per-axis minimum,
/// divide by the largest per-axis range, so values lie in [0, 1]. The offsets and scales are kept so the
/// normalisation can be undone.
public enum TrajectoryNormalization {
    /// `data` is N×T×2. Returns the normalised data, offsets (N×2) and scales (N). A trajectory that does
    /// not move (zero range) gets scale 1.
    public static func normalize(_ data: [Float], length T: Int) -> (
        normalized: [Float], offsets: [Float], scales: [Float]
    ) {
        let n = data.count / (2 * T)
        var out = data
        var offsets = [Float](repeating: 0, count: 2 * n)
        var scales = [Float](repeating: 1, count: n)
        for i in 0..<n {
            var minX = Float.infinity
            var minY = Float.infinity
            var maxX = -Float.infinity
            var maxY = -Float.infinity
            for t in 0..<T {
                let x = data[(i * T + t) * 2]
                let y = data[(i * T + t) * 2 + 1]
                minX = min(minX, x)
                maxX = max(maxX, x)
                minY = min(minY, y)
                maxY = max(maxY, y)
            }
            var range = max(maxX - minX, maxY - minY)
            if !(range > 0) { range = 1 }
            offsets[2 * i] = minX
            offsets[2 * i + 1] = minY
            scales[i] = range
            for t in 0..<T {
                out[(i * T + t) * 2] = (data[(i * T + t) * 2] - minX) / range
                out[(i * T + t) * 2 + 1] = (data[(i * T + t) * 2 + 1] - minY) / range
            }
        }
        return (out, offsets, scales)
    }

    /// Undoes `normalize`.
    public static func denormalize(_ data: [Float], length T: Int, offsets: [Float], scales: [Float]) -> [Float] {
        let n = data.count / (2 * T)
        var out = data
        for i in 0..<n {
            for t in 0..<T {
                out[(i * T + t) * 2] = data[(i * T + t) * 2] * scales[i] + offsets[2 * i]
                out[(i * T + t) * 2 + 1] = data[(i * T + t) * 2 + 1] * scales[i] + offsets[2 * i + 1]
            }
        }
        return out
    }
}
