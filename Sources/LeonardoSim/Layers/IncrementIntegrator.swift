import Foundation

/// Steps → positions normalised as the data are (paper appendix A, eq. 6): p[t] = Σ_{s ≤ t} d[s] per axis, then
/// r̂[t, c] = (p[t, c] − min_t p[·, c]) / R with R = max_c (max_t p − min_t p) + `rangeFloor`. No parameters; the
/// running sum treats every frame alike. Input and output are N×T×channels.
public final class IncrementIntegrator {
    public let channels: Int
    /// Added to the range so a decoder that does not move yet cannot divide by zero.
    public let rangeFloor: Float = 1e-6
    let positions = FloatBuffer()
    var argMin: [Int] = [], argMax: [Int] = [], rangeChannel: [Int] = []
    var range: [Float] = []

    public init(channels: Int) { self.channels = channels }

    public func forward(_ steps: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, batch N: Int, length T: Int) {
        let C = channels
        let p = positions.reserve(N * T * C)
        if argMin.count < N * C {
            argMin = [Int](repeating: 0, count: N * C)
            argMax = argMin
            rangeChannel = [Int](repeating: 0, count: N)
            range = [Float](repeating: 0, count: N)
        }
        for n in 0..<N {
            let base = n * T * C
            var best: Float = -1
            var bestChannel = 0
            for c in 0..<C {
                var sum: Float = 0
                var lo = Float.infinity
                var hi = -Float.infinity
                var iLo = 0
                var iHi = 0
                for t in 0..<T {
                    sum += steps[base + t * C + c]
                    p[base + t * C + c] = sum
                    if sum < lo {
                        lo = sum
                        iLo = t
                    }
                    if sum > hi {
                        hi = sum
                        iHi = t
                    }
                }
                argMin[n * C + c] = iLo
                argMax[n * C + c] = iHi
                if hi - lo > best {
                    best = hi - lo
                    bestChannel = c
                }
            }
            rangeChannel[n] = bestChannel
            let R = best + rangeFloor
            range[n] = R
            for c in 0..<C {
                let lo = p[base + argMin[n * C + c] * C + c]
                for t in 0..<T { out[base + t * C + c] = (p[base + t * C + c] - lo) / R }
            }
        }
    }

    /// Overwrites dSteps with the gradient of the objective with respect to the steps (after `forward`).
    /// Minimum and maximum pass their gradient to the frame that attains them.
    public func backward(dOut: UnsafePointer<Float>, dSteps: UnsafeMutablePointer<Float>, batch N: Int, length T: Int) {
        let C = channels
        let p = positions.pointer
        for n in 0..<N {
            let base = n * T * C
            let R = range[n]
            // dJ/dR = −Σ g·r̂ / R over every frame and axis, r̂ = (p − min)/R.
            var dR: Float = 0
            for c in 0..<C {
                let lo = p[base + argMin[n * C + c] * C + c]
                for t in 0..<T { dR -= dOut[base + t * C + c] * (p[base + t * C + c] - lo) }
            }
            dR /= R * R
            for c in 0..<C {
                // dJ/dp[t] = g[t]/R; the minimum collects −Σ_t g[t]/R.
                var sumG: Float = 0
                for t in 0..<T {
                    let g = dOut[base + t * C + c]
                    dSteps[base + t * C + c] = g / R
                    sumG += g
                }
                dSteps[base + argMin[n * C + c] * C + c] -= sumG / R
                if c == rangeChannel[n] {
                    dSteps[base + argMax[n * C + c] * C + c] += dR
                    dSteps[base + argMin[n * C + c] * C + c] -= dR
                }
                // Running sum backward: dJ/dd[s] = Σ_{t ≥ s} dJ/dp[t].
                var acc: Float = 0
                for t in stride(from: T - 1, through: 0, by: -1) {
                    acc += dSteps[base + t * C + c]
                    dSteps[base + t * C + c] = acc
                }
            }
        }
    }
}
