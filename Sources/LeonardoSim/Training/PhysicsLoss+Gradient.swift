import Foundation

/// The backward pass of `PhysicsLoss`: ∂L/∂(μ, log σ²) for L2, and ∂L/∂r̂ one trajectory at a time. The step terms
/// (L3–L10, L12, L14, L15) add to the gradient with respect to the steps Δr̂, which is then carried to the positions,
/// where the position terms (L1, L11, L13) add theirs. Every term reads what the forward pass kept.
extension PhysicsLoss {
    /// L2: ∂(w·KL)/∂μ = w·μ/N, ∂(w·KL)/∂log σ² = −(w/2)(1 − σ²)/N.
    func klGradient(_ b: Batch, dMu: UnsafeMutablePointer<Float>, dLogvar: UnsafeMutablePointer<Float>) {
        let w = weights.kl
        for i in 0..<(b.N * b.L) {
            dMu[i] = Float(w * Double(b.mu[i]) / b.nf)
            dLogvar[i] = Float(w * -0.5 * (1 - Foundation.exp(Double(b.logvar[i]))) / b.nf)
        }
    }

    /// The gradient of one trajectory, in the worker's scratch: gradient with respect to its steps (2M), its steps
    /// (2M), its positions (2T), their gradient (2T), the per-lag weights of the autocorrelation terms (M − 1 and
    /// T − 1), and its step sizes (M): 11T doubles of the 12T per worker.
    struct TrajectoryGradient {
        let dSteps: UnsafeMutablePointer<Double>, steps: UnsafeMutablePointer<Double>
        let positions: UnsafeMutablePointer<Double>, dPositions: UnsafeMutablePointer<Double>
        let vacfWeights: UnsafeMutablePointer<Double>, pacfWeights: UnsafeMutablePointer<Double>
        let sizes: UnsafeMutablePointer<Double>

        init(_ scratch: UnsafeMutablePointer<Double>, length T: Int) {
            let M = T - 1
            dSteps = scratch
            steps = dSteps + 2 * M
            positions = steps + 2 * M
            dPositions = positions + 2 * T
            vacfWeights = dPositions + 2 * T
            pacfWeights = vacfWeights + (M - 1)
            sizes = pacfWeights + (T - 1)
        }
    }

    /// Writes ∂L/∂r̂ of trajectory `i` (2T floats) to `dR`.
    func reconstructionGradient(trajectory i: Int, worker: Int, _ b: Batch, into dR: UnsafeMutablePointer<Float>) {
        let T = length
        let M = T - 1
        let g = TrajectoryGradient(gradientScratch.base + worker * gradientScratchPerWorker, length: T)
        let rh = b.rh + i * 2 * T
        for t in 0..<M {
            g.steps[2 * t] = Double(rh[2 * (t + 1)]) - Double(rh[2 * t])
            g.steps[2 * t + 1] = Double(rh[2 * (t + 1) + 1]) - Double(rh[2 * t + 1])
            g.dSteps[2 * t] = 0
            g.dSteps[2 * t + 1] = 0
        }
        // Terms of the steps.
        stepSizeDistributionGradient(trajectory: i, b, g)  // L3–L7
        xyCorrelationGradient(trajectory: i, b, g)  // L10
        velocityAutocorrelationGradient(trajectory: i, b, g)  // L8, L9
        if weights.stepProfile != 0 { stepProfileGradient(g) }  // L14
        if weights.blockHeterogeneity != 0 { blockHeterogeneityGradient(trajectory: i, b, g) }  // L12
        if weights.axisRatio != 0 { axisRatioGradient(trajectory: i, b, g) }  // L15
        // From the steps to the positions: Δr_t = r_{t+1} − r_t.
        for t in 0..<(2 * T) { g.dPositions[t] = 0 }
        for t in 0..<M {
            g.dPositions[2 * (t + 1)] += g.dSteps[2 * t]
            g.dPositions[2 * (t + 1) + 1] += g.dSteps[2 * t + 1]
            g.dPositions[2 * t] -= g.dSteps[2 * t]
            g.dPositions[2 * t + 1] -= g.dSteps[2 * t + 1]
        }
        for t in 0..<(2 * T) { g.positions[t] = Double(rh[t]) }
        // Terms of the positions.
        positionAutocorrelationGradient(trajectory: i, b, g)  // L11
        if weights.longLagMSD != 0 && !msdLags.isEmpty { longLagMSDGradient(trajectory: i, b, g) }  // L13
        // L1, and the result.
        let r = b.r + i * 2 * T
        let dRi = dR + i * 2 * T
        for t in 0..<(2 * T) {
            g.dPositions[t] += 2 * weights.mse * (Double(rh[t]) - Double(r[t])) / b.nf
            dRi[t] = Float(g.dPositions[t])
        }
    }

    /// ∂(w·L)/∂(statistic of the reconstruction) for the scalar terms: 2w(b̂ − b)/N.
    private func scalarGradient(_ term: LossTerm, trajectory i: Int, _ b: Batch) -> Double {
        let index = term.scalarStatistic!
        let S = StatsLayout.scalarCount
        return 2 * weights[term] * (scalB[i * S + index] - scalA[i * S + index]) / b.nf
    }

    /// L3–L7: through the step sizes s_t = |Δr̂_t| and their central moments (the median through its selected step).
    private func stepSizeDistributionGradient(trajectory i: Int, _ b: Batch, _ g: TrajectoryGradient) {
        let M = length - 1
        let Mf = Double(M)
        let gMean = scalarGradient(.mean, trajectory: i, b)
        let gVar = scalarGradient(.variance, trajectory: i, b)
        let gSkew = scalarGradient(.skewness, trajectory: i, b)
        let gKurt = scalarGradient(.kurtosis, trajectory: i, b)
        let gMed = scalarGradient(.median, trajectory: i, b)
        let medianIndex = Int(scalB[i * StatsLayout.scalarCount + StatsLayout.medianIndex])
        let d = g.steps
        for t in 0..<M { g.sizes[t] = (d[2 * t] * d[2 * t] + d[2 * t + 1] * d[2 * t + 1]).squareRoot() }
        let (m, m2, m3, m4) = centralMoments(UnsafeBufferPointer(start: g.sizes, count: M))
        for t in 0..<M {
            let s = g.sizes[t]
            let c = s - m
            var gs = gMean / Mf + gVar * 2 * c / Mf
            if m2 > 0 {
                let dm2 = 2 * c / Mf
                let dm3 = 3 * (c * c - m2) / Mf
                let dm4 = 4 * (c * c * c - m3) / Mf
                gs += gSkew * (dm3 / (m2 * m2.squareRoot()) - 1.5 * m3 / (m2 * m2 * m2.squareRoot()) * dm2)
                gs += gKurt * (dm4 / (m2 * m2) - 2 * m4 / (m2 * m2 * m2) * dm2)
            }
            if t == medianIndex { gs += gMed }
            if s > 0 {
                g.dSteps[2 * t] += gs * d[2 * t] / s
                g.dSteps[2 * t + 1] += gs * d[2 * t + 1] / s
            }
        }
    }

    /// L10: ρ = cov(Δx, Δy)/√(var Δx · var Δy), ∂ρ/∂Δx_t = (Δy_t − ⟨Δy⟩)/√(v_x v_y) − ρ(Δx_t − ⟨Δx⟩)/v_x (sums, not
    /// means, in v and cov; 0 when either variance vanishes).
    private func xyCorrelationGradient(trajectory i: Int, _ b: Batch, _ g: TrajectoryGradient) {
        let M = length - 1
        let gRho = scalarGradient(.xyCorrelation, trajectory: i, b)
        let rho = scalB[i * StatsLayout.scalarCount + StatsLayout.rho]
        let d = g.steps
        let xy = XYStepMoments(d, count: M)
        let (mx, my, vx, vy) = (xy.meanX, xy.meanY, xy.varianceX, xy.varianceY)
        guard vx > 0 && vy > 0 else { return }
        let sq = (vx * vy).squareRoot()
        for t in 0..<M {
            let a = d[2 * t] - mx
            let c = d[2 * t + 1] - my
            g.dSteps[2 * t] += gRho * (c / sq - rho * a / vx)
            g.dSteps[2 * t + 1] += gRho * (a / sq - rho * c / vy)
        }
    }

    /// L8 and L9 together, as one weighted sum over lags of the reconstruction's velocity autocorrelation.
    private func velocityAutocorrelationGradient(trajectory i: Int, _ b: Batch, _ g: TrajectoryGradient) {
        let M = length - 1
        let lags = M - 1
        let maxLag = vacfMaxLag
        for tau in 1...lags {
            var gv = 2 * weights.vacfBatch * batchDifference[tau - 1] / Double(lags) / b.nf
            if tau <= maxLag {
                gv += 2 * weights.vacf * (vacfB[i * lags + tau - 1] - vacfA[i * lags + tau - 1]) / Double(tau) / b.nf
            }
            g.vacfWeights[tau - 1] = gv
        }
        autocorrelationBackward(
            g.steps, count: M, c: vacfB.base + i * lags, weights: g.vacfWeights, maxLag: lags, grad: g.dSteps)
    }

    /// L15: ∂/∂â = 2w(â − a)/N; ∂â/∂Δx_t = (Δx_t − ⟨Δx⟩)/(M(ε + v_x)), ∂â/∂Δy_t = −(Δy_t − ⟨Δy⟩)/(M(ε + v_y)).
    private func axisRatioGradient(trajectory i: Int, _ b: Batch, _ g: TrajectoryGradient) {
        let M = length - 1
        let Mf = Double(M)
        let gA = scalarGradient(.axisRatio, trajectory: i, b)
        let xy = XYStepMoments(g.steps, count: M)
        let cx = gA / (Mf * (PhysicsLoss.logEpsilon + xy.varianceX / Mf))
        let cy = -gA / (Mf * (PhysicsLoss.logEpsilon + xy.varianceY / Mf))
        for t in 0..<M {
            g.dSteps[2 * t] += cx * (g.steps[2 * t] - xy.meanX)
            g.dSteps[2 * t + 1] += cy * (g.steps[2 * t + 1] - xy.meanY)
        }
    }

    /// L14, with the per-frame coefficients of the forward pass.
    private func stepProfileGradient(_ g: TrajectoryGradient) {
        for t in 0..<(length - 1) {
            g.dSteps[2 * t] += profileCoefficient[t] * g.steps[2 * t]
            g.dSteps[2 * t + 1] += profileCoefficient[t] * g.steps[2 * t + 1]
        }
    }

    /// L12: ∂/∂b_k = 2w(ĥ − h)/N · 2(b_k − b̄)/K; ∂b_k/∂Δ = 2Δ/(n_k(ε + mean square_k)), with exp(b_k) = ε + mean
    /// square of block k (kept by the forward pass).
    private func blockHeterogeneityGradient(trajectory i: Int, _ b: Batch, _ g: TrajectoryGradient) {
        let M = length - 1
        let K = heterogeneityBlocks
        let gH = 2 * weights.blockHeterogeneity * (hetB[i] - hetA[i]) / b.nf
        let blockLog = blockLogsB.base + i * K
        var bbar = 0.0
        for k in 0..<K { bbar += blockLog[k] }
        bbar /= Double(K)
        for k in 0..<K {
            let lo = k * M / K
            let hi = (k + 1) * M / K
            let n = Double(max(hi - lo, 1))
            let coef = gH * 2 * (blockLog[k] - bbar) / Double(K) * 2 / (n * Foundation.exp(blockLog[k]))
            for t in lo..<hi {
                g.dSteps[2 * t] += coef * g.steps[2 * t]
                g.dSteps[2 * t + 1] += coef * g.steps[2 * t + 1]
            }
        }
    }

    /// L11, through the reconstruction's position autocorrelation.
    private func positionAutocorrelationGradient(trajectory i: Int, _ b: Batch, _ g: TrajectoryGradient) {
        let lags = length - 1
        for tau in 1...lags {
            g.pacfWeights[tau - 1] =
                2 * weights.positionACF * (pacfB[i * lags + tau - 1] - pacfA[i * lags + tau - 1]) / b.nf
        }
        autocorrelationBackward(
            g.positions, count: length, c: pacfB.base + i * lags, weights: g.pacfWeights, maxLag: lags,
            grad: g.dPositions)
    }

    /// L13: ∂/∂m̂_τ = 2w(m̂_τ − m_τ)/(N|S|) with m̂ = log(ε + M̂); ∂M̂/∂r̂_{t+τ} = 2(r̂_{t+τ} − r̂_t)/(T−τ).
    private func longLagMSDGradient(trajectory i: Int, _ b: Batch, _ g: TrajectoryGradient) {
        let T = length
        let lags = msdLags
        let nl = lags.count
        let p = g.positions
        for (j, tau) in lags.enumerated() {
            let mh = msdB[i * nl + j]
            let coef =
                2 * weights.longLagMSD * (mh - msdA[i * nl + j]) / Double(nl) / b.nf / Foundation.exp(mh) * 2
                / Double(T - tau)
            for t in 0..<(T - tau) {
                let dx = p[2 * (t + tau)] - p[2 * t]
                let dy = p[2 * (t + tau) + 1] - p[2 * t + 1]
                g.dPositions[2 * (t + tau)] += coef * dx
                g.dPositions[2 * (t + tau) + 1] += coef * dy
                g.dPositions[2 * t] -= coef * dx
                g.dPositions[2 * t + 1] -= coef * dy
            }
        }
    }

    /// log(ε + time-averaged MSD) of one trajectory (T×2) at each lag in `lags` (each in 1..<T), written to `out`.
    public static func logTimeAveragedMSD(
        _ r: UnsafePointer<Float>, length T: Int, lags: [Int], out: UnsafeMutablePointer<Double>
    ) {
        for (j, tau) in lags.enumerated() {
            var acc = 0.0
            for t in 0..<(T - tau) {
                let dx = Double(r[2 * (t + tau)]) - Double(r[2 * t])
                let dy = Double(r[2 * (t + tau) + 1]) - Double(r[2 * t + 1])
                acc += dx * dx + dy * dy
            }
            out[j] = Foundation.log(logEpsilon + acc / Double(T - tau))
        }
    }

    /// Step-size heterogeneity over time of one trajectory (T×2, row-major): the steps are cut into `blocks`
    /// consecutive blocks (block k holds steps ⌊kM/K⌋ ..< ⌊(k+1)M/K⌋, M = T − 1), and h is the population variance
    /// over blocks of log(ε + mean squared step of the block). 0 for a walk with the same step size throughout;
    /// large when the diffusivity switches. If `logs` is given it receives the K block values.
    public static func blockHeterogeneity(
        _ r: UnsafePointer<Float>, length T: Int, blocks K: Int,
        logs: UnsafeMutablePointer<Double>? = nil
    ) -> Double {
        let M = T - 1
        var mean = 0.0
        var sq = 0.0
        for k in 0..<K {
            let lo = k * M / K
            let hi = (k + 1) * M / K
            var acc = 0.0
            for t in lo..<hi {
                let dx = Double(r[2 * (t + 1)]) - Double(r[2 * t])
                let dy = Double(r[2 * (t + 1) + 1]) - Double(r[2 * t + 1])
                acc += dx * dx + dy * dy
            }
            let b = Foundation.log(logEpsilon + acc / Double(max(hi - lo, 1)))
            logs?[k] = b
            mean += b
            sq += b * b
        }
        mean /= Double(K)
        return max(0, sq / Double(K) - mean * mean)
    }
}
