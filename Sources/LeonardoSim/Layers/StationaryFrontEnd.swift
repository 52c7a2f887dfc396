import Foundation

// The two layers of the stationary decoder variant (`DecoderVariant.stationary`). Neither has a parameter that
// belongs to one frame index: the parameter count does not depend on the trajectory length T.

/// The stationary decoder's front end: h (N×H, the output of `decoder.linear1`+ReLU) and per-frame Gaussian noise
/// ε (N×T×K) → out (N×T×Cd, channels last), out[n, t] = ReLU(A·h[n] + a + B·ε[n, t]).
/// Parameters: `decoder.stationary.latent_proj` (A [Cd, H], a [Cd]) and `decoder.stationary.noise_proj`
/// (B [Cd, K], no bias). The latent sets what every frame shares (the regime, the dose); the noise makes frames differ.
public final class StationaryFrontEnd {
    public let latentProjection: Linear
    public let noiseProjection: Linear
    public let channels: Int, noiseChannels: Int
    let latentPart = FloatBuffer(), dLatentPart = FloatBuffer()

    public init(_ store: ParameterStore, _ name: String, hidden: Int, channels: Int, noiseChannels: Int) {
        self.channels = channels
        self.noiseChannels = noiseChannels
        latentProjection = Linear(store, name + ".latent_proj", hidden, channels)
        noiseProjection = Linear(store, name + ".noise_proj", noiseChannels, channels, bias: false)
    }

    public func flops(length T: Int) -> Int {
        latentProjection.flopsPerRow + T * (noiseProjection.flopsPerRow + channels)
    }

    /// Overwrites `out` (N×T×Cd) with ReLU(A·h + a + B·ε).
    public func forward(
        _ h: UnsafePointer<Float>, noise: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
        batch N: Int, length T: Int
    ) {
        let Cd = channels
        let lp = latentPart.reserve(N * Cd)
        latentProjection.forward(h, lp, rows: N)
        noiseProjection.forward(noise, out, rows: N * T)
        for n in 0..<N {
            let shared = lp + n * Cd
            for t in 0..<T {
                let row = out + (n * T + t) * Cd
                for c in 0..<Cd { row[c] = max(0, row[c] + shared[c]) }
            }
        }
    }

    /// Backward after `forward` (whose output is `out`): turns dOut into the pre-activation gradient in place,
    /// accumulates the parameter gradients and adds into dh.
    public func backward(
        _ h: UnsafePointer<Float>, noise: UnsafePointer<Float>, out: UnsafePointer<Float>,
        dOut: UnsafeMutablePointer<Float>, dH: UnsafeMutablePointer<Float>, batch N: Int, length T: Int
    ) {
        let Cd = channels
        reluBackward(out, dOut, count: N * T * Cd)
        let dl = dLatentPart.reserve(N * Cd)
        dl.update(repeating: 0, count: N * Cd)
        for n in 0..<N {
            let d = dl + n * Cd
            for t in 0..<T {
                let row = dOut + (n * T + t) * Cd
                for c in 0..<Cd { d[c] += row[c] }
            }
        }
        latentProjection.backward(h, dl, dH, rows: N)
        noiseProjection.backward(noise, dOut, nil, rows: N * T)
    }
}
