import Foundation

/// Buffers of one training forward/backward pass.
final class ObjectiveBuffers {
    let recon = FloatBuffer(), dRecon = FloatBuffer()
    let mu = FloatBuffer(), logvar = FloatBuffer(), z = FloatBuffer()
    let dMu = FloatBuffer(), dLogvar = FloatBuffer(), dZ = FloatBuffer()
}

extension Leonardo {
    /// The VAE objective of one batch and its gradient: encode r → (μ, log σ²), z = μ + exp(½ log σ²)·ε,
    /// decode z → r̂, evaluate the physics-informed loss, back-propagate. Parameter gradients are zeroed
    /// first and hold ∂L/∂θ afterwards. `eps` holds batch × latentDim standard normals; `noise` the stationary
    /// decoder's per-frame normals (`noiseCount(batch:)`; ignored by the authors' decoder). Runs on `kernels`
    /// (`ForwardMode.training`); `trainingProfile`, when set, times each part.
    public func lossAndGradients(
        input xb: UnsafePointer<Float>, eps ep: UnsafePointer<Float>,
        noise: UnsafePointer<Float>? = nil, batch B: Int, loss: PhysicsLoss,
        doseAnchor: (anchor: DoseAnchor, dose: UnsafePointer<Float>)? = nil
    ) -> LossTerms {
        let L = config.latentDim
        let b = objectiveBuffers
        let drp = b.dRecon.reserve(B * config.length * config.inputChannels)
        let dmp = b.dMu.reserve(B * L)
        let dlp = b.dLogvar.reserve(B * L)
        let dzp = b.dZ.reserve(B * L)
        parameters.zeroGrads()
        let (mp, lp, rp) = forwardObjective(input: xb, eps: ep, noise: noise, batch: B)
        var terms = stage(trainingProfile, "physics loss") {
            loss.evaluate(
                input: xb, reconstruction: rp, mu: mp, logvar: lp, batch: B, latent: L,
                dReconstruction: drp, dMu: dmp, dLogvar: dlp)
        }
        if let (anchor, dose) = doseAnchor {
            terms.doseAnchor = anchor.apply(mu: mp, dose: dose, dMu: dmp, batch: B, latent: L)
            terms.total += anchor.weight * terms.doseAnchor
        }
        stage(trainingProfile, "decoder backward") { decoder.backward(dOut: drp, dZ: dzp, batch: B) }
        for i in 0..<(B * L) {
            dmp[i] += dzp[i]
            dlp[i] += dzp[i] * ep[i] * 0.5 * expf(0.5 * lp[i])
        }
        stage(trainingProfile, "encoder backward") { encoder.backward(dMu: dmp, dLogvar: dlp, batch: B) }
        return terms
    }

    /// The objective's value only (same computation as `lossAndGradients`, no backward pass).
    public func lossValue(
        input xb: UnsafePointer<Float>, eps ep: UnsafePointer<Float>, noise: UnsafePointer<Float>? = nil,
        batch B: Int, loss: PhysicsLoss
    ) -> LossTerms {
        let (mp, lp, rp) = forwardObjective(input: xb, eps: ep, noise: noise, batch: B)
        return loss.evaluate(input: xb, reconstruction: rp, mu: mp, logvar: lp, batch: B, latent: config.latentDim)
    }

    /// The forward pass both share: encode, reparameterise (z = μ + exp(½ log σ²)·ε), decode; returns μ, log σ² and r̂
    /// in the objective's buffers.
    private func forwardObjective(
        input xb: UnsafePointer<Float>, eps ep: UnsafePointer<Float>, noise: UnsafePointer<Float>?, batch B: Int
    ) -> (
        mu: UnsafeMutablePointer<Float>, logvar: UnsafeMutablePointer<Float>,
        reconstruction: UnsafeMutablePointer<Float>
    ) {
        let L = config.latentDim
        let b = objectiveBuffers
        let mp = b.mu.reserve(B * L)
        let lp = b.logvar.reserve(B * L)
        let zp = b.z.reserve(B * L)
        let rp = b.recon.reserve(B * config.length * config.inputChannels)
        stage(trainingProfile, "encoder forward") {
            encoder.forward(xb, mu: mp, logvar: lp, batch: B, mode: .training(kernels))
        }
        for i in 0..<(B * L) { zp[i] = mp[i] + expf(0.5 * lp[i]) * ep[i] }
        stage(trainingProfile, "decoder forward") {
            decoder.forward(zp, noise: noise, out: rp, batch: B, mode: .training(kernels))
        }
        return (mp, lp, rp)
    }
}
