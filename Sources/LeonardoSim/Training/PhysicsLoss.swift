import Foundation

/// LEONARDO's physics-informed loss (paper eq. 11–23), with its exact gradient.
///
/// L1 = (1/N)‖r − r̂‖² (sum over frames and axes, mean over the batch); L2 = KL(q(z|r) ‖ N(0, I)) averaged
/// over the batch; L3–L7: squared differences of step-size mean, variance, skewness, kurtosis and median;
/// L8 = Σ_{τ=1}^{50} (1/τ)(C_v(τ) − Ĉ_v(τ))²; L9 = mean over τ = 1 … T−2 of (⟨C_v(τ)⟩_batch − ⟨Ĉ_v(τ)⟩_batch)²;
/// L10: squared difference of the x–y step correlation; L11 = Σ_{τ=1}^{T−1} (C_r(τ) − Ĉ_r(τ))².
/// L1, L3–L8, L10, L11 are averaged over the batch. Statistics are those of `TrajectoryStatistics`.
///
/// L12 (this project's, weight 0 by default) = (1/N) Σᵢ (hᵢ − ĥᵢ)², where h is the step-size heterogeneity of a
/// trajectory over time (`blockHeterogeneity`): the variance over K consecutive blocks of steps of the log mean
/// squared step. The paper's terms match each reconstruction's step-size *distribution* and correlations but not
/// *when* large steps occur, so a decoder may switch diffusivity within a trajectory where the data do not (which a
/// motion classifier reads as ATTM); L12 penalises exactly that.
///
/// L13 (this project's, weight 0 by default) = (1/N) Σᵢ (1/|S|) Σ_{τ∈S} (log(ε + M_i(τ)) − log(ε + M̂_i(τ)))², with
/// M(τ) = (1/(T−τ)) Σ_t |r_{t+τ} − r_t|² the time-averaged MSD of one trajectory and S the lags `msdLags` below T.
/// L8/L9 reach lag 50 per trajectory and L11 hardly sees a slow return of the walk towards its start, which the
/// trained decoder shows; L13 holds the long-lag spreading of each reconstruction to its input's.
///
/// L14 (this project's, weight 0 by default) = (1/M) Σ_t (log(ε + P̂_t) − log(ε + P_t))², P_t = (1/N) Σᵢ |Δr_{i,t}|²
/// the batch's mean squared step at frame t. Data are (nearly) stationary in time; a decoder can instead put its
/// large steps at fixed frame indices for every sample (the trained one does, by a factor of 10–30), which no
/// per-trajectory statistic of the paper sees, since each is invariant to where in the trajectory a step falls.
public final class PhysicsLoss {
    public var weights: LossWeights
    public let length: Int
    private var capacity = 0
    // Per-trajectory statistics of input (a) and reconstruction (b).
    private var scalA: [Double] = [], scalB: [Double] = []
    private var vacfA: [Double] = [], vacfB: [Double] = [], pacfA: [Double] = [], pacfB: [Double] = []
    private var hetA: [Double] = [], hetB: [Double] = []
    private var blockLogsB: [Double] = []  // N × K block values of the reconstructions, sized when L12 is on
    private var msdA: [Double] = [], msdB: [Double] = []  // N × lags, sized when L13 is on
    private var profileA: [Double] = [], profileB: [Double] = [], profileCoef: [Double] = []
    private var scratch: [StatsScratch] = []
    private var gradScratch: [[Double]] = []

    public init(weights: LossWeights = LossWeights(), length: Int) {
        self.weights = weights
        self.length = length
    }

    private func ensure(_ n: Int) {
        let workers = Workers.count
        if scratch.count < workers {
            scratch = (0..<workers).map { _ in StatsScratch(length: length) }
            // per worker: steps grad (2M), positions (2T), positions grad (2T), weights for vacf (M−1), pacf (T−1)
            gradScratch = (0..<workers).map { _ in [Double](repeating: 0, count: 12 * length) }
        }
        if n <= capacity { return }
        capacity = n
        let M = length - 1
        scalA = [Double](repeating: 0, count: n * StatsLayout.scalarCount)
        scalB = scalA
        vacfA = [Double](repeating: 0, count: n * (M - 1))
        vacfB = vacfA
        pacfA = [Double](repeating: 0, count: n * (length - 1))
        pacfB = pacfA
        hetA = [Double](repeating: 0, count: n)
        hetB = hetA
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

    /// Offset added to a mean squared step or displacement before the logarithm in L12–L14 (normalised units; keeps
    /// the terms finite when a block, lag or frame has only zero steps).
    public static let logEpsilon = 1e-6

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

    private func statistics(
        _ r: UnsafePointer<Float>, batch n: Int, scal: inout [Double], vacf: inout [Double], pacf: inout [Double]
    ) {
        let T = length
        let M = T - 1
        let S = StatsLayout.scalarCount
        scal.withUnsafeMutableBufferPointer { sp in
            vacf.withUnsafeMutableBufferPointer { vp in
                pacf.withUnsafeMutableBufferPointer { pp in
                    scratch.withUnsafeMutableBufferPointer { scr in
                        let s = sp.baseAddress!
                        let v = vp.baseAddress!
                        let p = pp.baseAddress!
                        let sc = scr.baseAddress!
                        parallelFor(n) { i, w in
                            computeStatistics(
                                r + i * 2 * T, length: T, scalars: s + i * S, vacf: v + i * (M - 1),
                                pacf: p + i * (T - 1),
                                scratch: &sc[w])
                        }
                    }
                }
            }
        }
    }

    /// Evaluates every term for input r and reconstruction r̂ (N×T×2 each) and the posterior (μ, log σ²).
    /// When gradient buffers are given, writes (overwrites) ∂L/∂r̂, ∂L/∂μ and ∂L/∂log σ².
    public func evaluate(
        input r: UnsafePointer<Float>, reconstruction rh: UnsafePointer<Float>,
        mu: UnsafePointer<Float>, logvar: UnsafePointer<Float>, batch N: Int, latent L: Int,
        dReconstruction: UnsafeMutablePointer<Float>? = nil,
        dMu: UnsafeMutablePointer<Float>? = nil, dLogvar: UnsafeMutablePointer<Float>? = nil
    ) -> LossTerms {
        ensure(N)
        let T = length
        let M = T - 1
        let S = StatsLayout.scalarCount
        let nf = Double(N)
        statistics(r, batch: N, scal: &scalA, vacf: &vacfA, pacf: &pacfA)
        statistics(rh, batch: N, scal: &scalB, vacf: &vacfB, pacf: &pacfB)
        var terms = LossTerms()
        let w = weights
        let maxLag = min(w.vacfMaxLag, M - 1)
        // L1
        var mse = 0.0
        for i in 0..<(N * T * 2) {
            let e = Double(r[i]) - Double(rh[i])
            mse += e * e
        }
        terms.values[0] = mse / nf
        // L2
        var kl = 0.0
        for i in 0..<(N * L) {
            let lv = Double(logvar[i])
            let m = Double(mu[i])
            kl += -0.5 * (1 + lv - m * m - Foundation.exp(lv))
        }
        terms.values[1] = kl / nf
        // L3–L7, L10
        let scalarTerms = [
            (StatsLayout.mean, 2), (StatsLayout.variance, 3), (StatsLayout.skewness, 4),
            (StatsLayout.kurtosis, 5), (StatsLayout.median, 6), (StatsLayout.rho, 9)
        ]
        for (idx, term) in scalarTerms {
            var acc = 0.0
            for i in 0..<N {
                let e = scalA[i * S + idx] - scalB[i * S + idx]
                acc += e * e
            }
            terms.values[term] = acc / nf
        }
        // L8
        var l8 = 0.0
        for i in 0..<N {
            for tau in 1...maxLag {
                let e = vacfA[i * (M - 1) + tau - 1] - vacfB[i * (M - 1) + tau - 1]
                l8 += e * e / Double(tau)
            }
        }
        terms.values[7] = l8 / nf
        // L9
        var batchDiff = [Double](repeating: 0, count: M - 1)
        for tau in 0..<(M - 1) {
            var a = 0.0
            var b = 0.0
            for i in 0..<N {
                a += vacfA[i * (M - 1) + tau]
                b += vacfB[i * (M - 1) + tau]
            }
            batchDiff[tau] = (b - a) / nf
        }
        terms.values[8] = batchDiff.reduce(0) { $0 + $1 * $1 } / Double(M - 1)
        // L11
        var l11 = 0.0
        for i in 0..<(N * (T - 1)) {
            let e = pacfA[i] - pacfB[i]
            l11 += e * e
        }
        terms.values[10] = l11 / nf
        // L12
        let K = max(1, min(w.heterogeneityBlocks, M))
        if w.blockHeterogeneity != 0 {
            if blockLogsB.count < N * K { blockLogsB = [Double](repeating: 0, count: N * K) }
            var l12 = 0.0
            blockLogsB.withUnsafeMutableBufferPointer { bl in
                for i in 0..<N {
                    hetA[i] = PhysicsLoss.blockHeterogeneity(r + i * 2 * T, length: T, blocks: K)
                    hetB[i] = PhysicsLoss.blockHeterogeneity(
                        rh + i * 2 * T, length: T, blocks: K, logs: bl.baseAddress! + i * K)
                    let e = hetA[i] - hetB[i]
                    l12 += e * e
                }
            }
            terms.values[11] = l12 / nf
        }
        // L13
        let lags = w.msdLags.filter { $0 >= 1 && $0 < T }
        let nl = lags.count
        if w.longLagMSD != 0 && nl > 0 {
            if msdA.count < N * nl {
                msdA = [Double](repeating: 0, count: N * nl)
                msdB = msdA
            }
            var l13 = 0.0
            msdA.withUnsafeMutableBufferPointer { a in
                msdB.withUnsafeMutableBufferPointer { b in
                    for i in 0..<N {
                        PhysicsLoss.logTimeAveragedMSD(
                            r + i * 2 * T, length: T, lags: lags, out: a.baseAddress! + i * nl)
                        PhysicsLoss.logTimeAveragedMSD(
                            rh + i * 2 * T, length: T, lags: lags, out: b.baseAddress! + i * nl)
                        for j in 0..<nl {
                            let e = a[i * nl + j] - b[i * nl + j]
                            l13 += e * e
                        }
                    }
                }
            }
            terms.values[12] = l13 / Double(nl) / nf
        }
        // L14
        if w.stepProfile != 0 {
            if profileA.count != M {
                profileA = [Double](repeating: 0, count: M)
                profileB = profileA
                profileCoef = profileA
            }
            for t in 0..<M {
                profileA[t] = 0
                profileB[t] = 0
            }
            for i in 0..<N {
                let a = r + i * 2 * T
                let b = rh + i * 2 * T
                for t in 0..<M {
                    let ax = Double(a[2 * t + 2]) - Double(a[2 * t])
                    let ay = Double(a[2 * t + 3]) - Double(a[2 * t + 1])
                    let bx = Double(b[2 * t + 2]) - Double(b[2 * t])
                    let by = Double(b[2 * t + 3]) - Double(b[2 * t + 1])
                    profileA[t] += ax * ax + ay * ay
                    profileB[t] += bx * bx + by * by
                }
            }
            var l14 = 0.0
            for t in 0..<M {
                let pa = PhysicsLoss.logEpsilon + profileA[t] / nf
                let pb = PhysicsLoss.logEpsilon + profileB[t] / nf
                let e = Foundation.log(pb) - Foundation.log(pa)
                l14 += e * e
                // ∂(w·L14)/∂Δr̂_{i,t} = profileCoef[t]·Δr̂_{i,t}
                profileCoef[t] = w.stepProfile * 2 * e / Double(M) / pb * 2 / nf
            }
            terms.values[13] = l14 / Double(M)
        }
        let wv = w.asArray
        terms.total = zip(wv, terms.values).reduce(0) { $0 + $1.0 * $1.1 }

        if let dMu, let dLogvar {
            for i in 0..<(N * L) {
                dMu[i] = Float(w.kl * Double(mu[i]) / nf)
                dLogvar[i] = Float(w.kl * -0.5 * (1 - Foundation.exp(Double(logvar[i]))) / nf)
            }
        }
        guard let dR = dReconstruction else { return terms }
        batchDiff.withUnsafeBufferPointer { bd in
            scalA.withUnsafeBufferPointer { sa in
                scalB.withUnsafeBufferPointer { sb in
                    vacfA.withUnsafeBufferPointer { va in
                        vacfB.withUnsafeBufferPointer { vb in
                            pacfA.withUnsafeBufferPointer { pa in
                                pacfB.withUnsafeBufferPointer { pb in
                                    hetA.withUnsafeBufferPointer { ha in
                                        hetB.withUnsafeBufferPointer { hb in
                                            blockLogsB.withUnsafeBufferPointer { blAll in
                                                msdA.withUnsafeBufferPointer { ma in
                                                    msdB.withUnsafeBufferPointer { mb in
                                                        profileCoef.withUnsafeBufferPointer { pc in
                                                            gradScratch.withUnsafeMutableBufferPointer { gsAll in
                                                                let gsp = gsAll.baseAddress!
                                                                parallelFor(N) { i, worker in
                                                                    gsp[worker].withUnsafeMutableBufferPointer { buf in
                                                                        let g = buf.baseAddress!
                                                                        let gd = g
                                                                        let pos = g + 2 * M
                                                                        let gpos = pos + 2 * T
                                                                        let wV = gpos + 2 * T
                                                                        let wP = wV + (M - 1)
                                                                        let ri = r + i * 2 * T
                                                                        let rhi = rh + i * 2 * T
                                                                        let A = sa.baseAddress! + i * S
                                                                        let B = sb.baseAddress! + i * S
                                                                        // gradients of the loss with respect to the reconstruction's statistics
                                                                        func gs(_ idx: Int, _ wt: Double) -> Double {
                                                                            2 * wt * (B[idx] - A[idx]) / nf
                                                                        }
                                                                        let gMean = gs(StatsLayout.mean, w.mean)
                                                                        let gVar = gs(StatsLayout.variance, w.variance)
                                                                        let gSkew = gs(StatsLayout.skewness, w.skewness)
                                                                        let gKurt = gs(StatsLayout.kurtosis, w.kurtosis)
                                                                        let gMed = gs(StatsLayout.median, w.median)
                                                                        let gRho = gs(StatsLayout.rho, w.xyCorrelation)
                                                                        for tau in 1...(M - 1) {
                                                                            var gv =
                                                                                2 * w.vacfBatch * bd[tau - 1]
                                                                                / Double(M - 1) / nf
                                                                            if tau <= maxLag {
                                                                                gv +=
                                                                                    2 * w.vacf
                                                                                    * (vb[i * (M - 1) + tau - 1]
                                                                                        - va[i * (M - 1) + tau - 1])
                                                                                    / Double(tau) / nf
                                                                            }
                                                                            wV[tau - 1] = gv
                                                                        }
                                                                        for tau in 1...(T - 1) {
                                                                            wP[tau - 1] =
                                                                                2 * w.positionACF
                                                                                * (pb[i * (T - 1) + tau - 1]
                                                                                    - pa[i * (T - 1) + tau - 1]) / nf
                                                                        }
                                                                        // steps of the reconstruction
                                                                        var sumx = 0.0
                                                                        var sumy = 0.0
                                                                        var sum = 0.0
                                                                        for t in 0..<M {
                                                                            let dx =
                                                                                Double(rhi[2 * (t + 1)])
                                                                                - Double(rhi[2 * t])
                                                                            let dy =
                                                                                Double(rhi[2 * (t + 1) + 1])
                                                                                - Double(rhi[2 * t + 1])
                                                                            pos[2 * t] = dx
                                                                            // temporarily hold steps in `pos`
                                                                            pos[2 * t + 1] = dy
                                                                            sumx += dx
                                                                            sumy += dy
                                                                            sum += (dx * dx + dy * dy).squareRoot()
                                                                            gd[2 * t] = 0
                                                                            gd[2 * t + 1] = 0
                                                                        }
                                                                        let m = sum / Double(M)
                                                                        var m2 = 0.0
                                                                        var m3 = 0.0
                                                                        var m4 = 0.0
                                                                        for t in 0..<M {
                                                                            let s =
                                                                                (pos[2 * t] * pos[2 * t] + pos[
                                                                                    2 * t + 1] * pos[2 * t + 1])
                                                                                .squareRoot()
                                                                            let c = s - m
                                                                            m2 += c * c
                                                                            m3 += c * c * c
                                                                            m4 += c * c * c * c
                                                                        }
                                                                        m2 /= Double(M)
                                                                        m3 /= Double(M)
                                                                        m4 /= Double(M)
                                                                        let medianIndex = Int(
                                                                            B[StatsLayout.medianIndex])
                                                                        let Mf = Double(M)
                                                                        let mx = sumx / Mf
                                                                        let my = sumy / Mf
                                                                        var cxy = 0.0
                                                                        var vx = 0.0
                                                                        var vy = 0.0
                                                                        for t in 0..<M {
                                                                            let a = pos[2 * t] - mx
                                                                            let b = pos[2 * t + 1] - my
                                                                            cxy += a * b
                                                                            vx += a * a
                                                                            vy += b * b
                                                                        }
                                                                        let rho = B[StatsLayout.rho]
                                                                        for t in 0..<M {
                                                                            let dx = pos[2 * t]
                                                                            let dy = pos[2 * t + 1]
                                                                            let s = (dx * dx + dy * dy).squareRoot()
                                                                            let c = s - m
                                                                            var g = gMean / Mf + gVar * 2 * c / Mf
                                                                            if m2 > 0 {
                                                                                let dm2 = 2 * c / Mf
                                                                                let dm3 = 3 * (c * c - m2) / Mf
                                                                                let dm4 = 4 * (c * c * c - m3) / Mf
                                                                                g +=
                                                                                    gSkew
                                                                                    * (dm3 / (m2 * m2.squareRoot())
                                                                                        - 1.5 * m3
                                                                                        / (m2 * m2 * m2.squareRoot())
                                                                                        * dm2)
                                                                                g +=
                                                                                    gKurt
                                                                                    * (dm4 / (m2 * m2) - 2 * m4
                                                                                        / (m2 * m2 * m2) * dm2)
                                                                            }
                                                                            if t == medianIndex { g += gMed }
                                                                            if s > 0 {
                                                                                gd[2 * t] += g * dx / s
                                                                                gd[2 * t + 1] += g * dy / s
                                                                            }
                                                                            if vx > 0 && vy > 0 {
                                                                                let a = dx - mx
                                                                                let b = dy - my
                                                                                let sq = (vx * vy).squareRoot()
                                                                                gd[2 * t] +=
                                                                                    gRho * (b / sq - rho * a / vx)
                                                                                gd[2 * t + 1] +=
                                                                                    gRho * (a / sq - rho * b / vy)
                                                                            }
                                                                        }
                                                                        autocorrelationBackward(
                                                                            pos, count: M,
                                                                            c: vb.baseAddress! + i * (M - 1),
                                                                            weights: wV, maxLag: M - 1, grad: gd)
                                                                        if w.stepProfile != 0 {
                                                                            for t in 0..<M {
                                                                                gd[2 * t] += pc[t] * pos[2 * t]
                                                                                gd[2 * t + 1] += pc[t] * pos[2 * t + 1]
                                                                            }
                                                                        }
                                                                        if w.blockHeterogeneity != 0 {
                                                                            // L12: ∂/∂b_k = 2w(ĥ − h)/N · 2(b_k − b̄)/K; ∂b_k/∂Δ = 2Δ/(n_k(ε + mean square_k))
                                                                            let gH =
                                                                                2 * w.blockHeterogeneity
                                                                                * (hb[i] - ha[i]) / nf
                                                                            // stored by the forward pass
                                                                            let blockLog = blAll.baseAddress! + i * K
                                                                            var bbar = 0.0
                                                                            for k in 0..<K { bbar += blockLog[k] }
                                                                            bbar /= Double(K)
                                                                            for k in 0..<K {
                                                                                let lo = k * M / K
                                                                                let hi = (k + 1) * M / K
                                                                                let n = Double(max(hi - lo, 1))
                                                                                // exp(b_k) = ε + mean square of block k
                                                                                let coef =
                                                                                    gH * 2 * (blockLog[k] - bbar)
                                                                                    / Double(K) * 2
                                                                                    / (n * Foundation.exp(blockLog[k]))
                                                                                for t in lo..<hi {
                                                                                    gd[2 * t] += coef * pos[2 * t]
                                                                                    gd[2 * t + 1] +=
                                                                                        coef * pos[2 * t + 1]
                                                                                }
                                                                            }
                                                                        }
                                                                        // positions (double) and their gradient
                                                                        for t in 0..<(2 * T) { gpos[t] = 0 }
                                                                        for t in 0..<M {
                                                                            gpos[2 * (t + 1)] += gd[2 * t]
                                                                            gpos[2 * (t + 1) + 1] += gd[2 * t + 1]
                                                                            gpos[2 * t] -= gd[2 * t]
                                                                            gpos[2 * t + 1] -= gd[2 * t + 1]
                                                                        }
                                                                        for t in 0..<(2 * T) { pos[t] = Double(rhi[t]) }
                                                                        autocorrelationBackward(
                                                                            pos, count: T,
                                                                            c: pb.baseAddress! + i * (T - 1),
                                                                            weights: wP, maxLag: T - 1, grad: gpos)
                                                                        if w.longLagMSD != 0 && nl > 0 {
                                                                            // L13: ∂/∂m̂_τ = 2w(m̂_τ − m_τ)/(N|S|) with m̂ = log(ε + M̂); ∂M̂/∂r̂_{t+τ} = 2(r̂_{t+τ} − r̂_t)/(T−τ)
                                                                            for (j, tau) in lags.enumerated() {
                                                                                let mh = mb[i * nl + j]
                                                                                let coef =
                                                                                    2 * w.longLagMSD
                                                                                    * (mh - ma[i * nl + j]) / Double(nl)
                                                                                    / nf
                                                                                    / Foundation.exp(mh) * 2
                                                                                    / Double(T - tau)
                                                                                for t in 0..<(T - tau) {
                                                                                    let dx =
                                                                                        pos[2 * (t + tau)] - pos[2 * t]
                                                                                    let dy =
                                                                                        pos[2 * (t + tau) + 1]
                                                                                        - pos[2 * t + 1]
                                                                                    gpos[2 * (t + tau)] += coef * dx
                                                                                    gpos[2 * (t + tau) + 1] += coef * dy
                                                                                    gpos[2 * t] -= coef * dx
                                                                                    gpos[2 * t + 1] -= coef * dy
                                                                                }
                                                                            }
                                                                        }
                                                                        let dRi = dR + i * 2 * T
                                                                        for t in 0..<(2 * T) {
                                                                            gpos[t] +=
                                                                                2 * w.mse
                                                                                * (Double(rhi[t]) - Double(ri[t])) / nf
                                                                            dRi[t] = Float(gpos[t])
                                                                        }
                                                                    }
                                                                }
                                                            }
                                                        }
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return terms
    }
}
