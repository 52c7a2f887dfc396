import Foundation

/// LEONARDO's physics-informed loss (paper eq. 11–23), with its exact gradient. The terms are the cases of
/// `LossTerm`, in the paper's order:
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
///
/// L15 (this project's, weight 0 by default) = (1/N) Σᵢ (aᵢ − âᵢ)², a = ½ log(ε + v_x) − ½ log(ε + v_y), with v_x and v_y
/// the variances of one trajectory's x- and y-steps (a scalar statistic, like L10's ρ): the log ratio of its step standard deviations along the two
/// axes. In-plane diffusion has no preferred axis, but a trajectory of 200 frames is anisotropic by chance, and
/// no term of the paper's loss sees which axis moves more (all step statistics are of step sizes |Δr|); a decoder
/// fitted without it makes one axis move 1.45× more in every sample (docs/experiments/2026-12-04-orientation.md).
/// L15 holds each reconstruction's anisotropy to its input's, so the encoder has to carry it in the latent.
///
/// `evaluate` is a forward pass (the statistics of input and reconstruction, then each term's value, keeping what
/// the gradient needs) followed by a backward pass per trajectory (`PhysicsLoss+Gradient.swift`). All buffers are
/// allocated once per batch size; nothing is allocated per trajectory.
public final class PhysicsLoss {
    public var weights: LossWeights
    public let length: Int
    private var capacity = 0
    // Per-trajectory statistics of the input (a) and the reconstruction (b): scalar rows (`StatsLayout`), velocity
    // and position autocorrelations.
    var scalA = Scratch(), scalB = Scratch()
    var vacfA = Scratch(), vacfB = Scratch(), pacfA = Scratch(), pacfB = Scratch()
    // Kept by the forward pass for the gradient: L9's batch differences ⟨Ĉ_v(τ)⟩ − ⟨C_v(τ)⟩; L12's heterogeneities
    // and the reconstructions' N × K block values; L13's N × |S| log MSDs; L14's coefficient per frame.
    var batchDifference = Scratch()
    var hetA = Scratch(), hetB = Scratch(), blockLogsB = Scratch()
    var msdA = Scratch(), msdB = Scratch()
    var profileA = Scratch(), profileB = Scratch(), profileCoefficient = Scratch()
    // Per-worker scratch of the statistics and of the gradient of one trajectory.
    private var statsScratch: [StatsScratch] = []
    var gradientScratch = Scratch()

    public init(weights: LossWeights = LossWeights(), length: Int) {
        self.weights = weights
        self.length = length
    }

    deinit {
        for buffer in [
            scalA, scalB, vacfA, vacfB, pacfA, pacfB, batchDifference, hetA, hetB, blockLogsB, msdA, msdB, profileA,
            profileB, profileCoefficient, gradientScratch
        ] {
            buffer.free()
        }
    }

    /// Offset added to a mean squared step or displacement before the logarithm in L12–L14 (normalised units; keeps
    /// the terms finite when a block, lag or frame has only zero steps).
    public static let logEpsilon = 1e-6

    /// Doubles per worker in `gradientScratch`: steps and their gradient (2M each), positions and their gradient
    /// (2T each), the per-lag weights of the velocity (M − 1) and position (T − 1) autocorrelation gradients.
    var gradientScratchPerWorker: Int { 12 * length }

    private func ensure(_ n: Int) {
        let T = length
        let M = T - 1
        let workers = Workers.count
        if statsScratch.count < workers {
            statsScratch = (0..<workers).map { _ in StatsScratch(length: T) }
            gradientScratch.reserve(workers * gradientScratchPerWorker)
        }
        if n <= capacity { return }
        capacity = n
        scalA.reserve(n * StatsLayout.scalarCount)
        scalB.reserve(n * StatsLayout.scalarCount)
        vacfA.reserve(n * (M - 1))
        vacfB.reserve(n * (M - 1))
        pacfA.reserve(n * (T - 1))
        pacfB.reserve(n * (T - 1))
        hetA.reserve(n)
        hetB.reserve(n)
        batchDifference.reserve(M - 1)
        profileA.reserve(M)
        profileB.reserve(M)
        profileCoefficient.reserve(M)
    }

    /// The batch a loss is evaluated on: input r and reconstruction r̂ (N×T×2 each), the posterior (μ, log σ²) (N×L).
    struct Batch {
        let r: UnsafePointer<Float>, rh: UnsafePointer<Float>, mu: UnsafePointer<Float>, logvar: UnsafePointer<Float>
        let N: Int, L: Int
        var nf: Double { Double(N) }
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
        let batch = Batch(r: r, rh: rh, mu: mu, logvar: logvar, N: N, L: L)
        statistics(r, batch: N, scalars: scalA, vacf: vacfA, pacf: pacfA)
        statistics(rh, batch: N, scalars: scalB, vacf: vacfB, pacf: pacfB)
        // The paper's terms always; this project's only when weighted (0 otherwise).
        var terms = LossTerms()
        for term in LossTerm.allCases where term.isPaperTerm || weights[term] != 0 {
            terms[term] = value(of: term, batch)
        }
        terms.total = weights.total(terms)
        if let dMu, let dLogvar { klGradient(batch, dMu: dMu, dLogvar: dLogvar) }
        if let dReconstruction {
            parallelFor(N) { i, worker in
                reconstructionGradient(trajectory: i, worker: worker, batch, into: dReconstruction)
            }
        }
        return terms
    }

    // MARK: forward

    private func statistics(_ r: UnsafePointer<Float>, batch n: Int, scalars: Scratch, vacf: Scratch, pacf: Scratch) {
        let T = length
        let S = StatsLayout.scalarCount
        statsScratch.withUnsafeMutableBufferPointer { perWorker in
            parallelFor(n) { i, w in
                computeStatistics(
                    r + i * 2 * T, length: T, scalars: scalars.base + i * S, vacf: vacf.base + i * (T - 2),
                    pacf: pacf.base + i * (T - 1), scratch: &perWorker[w])
            }
        }
    }

    /// The unweighted value of `term` on the batch; keeps what the term's gradient needs.
    private func value(of term: LossTerm, _ b: Batch) -> Double {
        switch term {
        case .mse: meanSquaredError(b)
        case .kl: klDivergence(b)
        case .mean, .variance, .skewness, .kurtosis, .median, .xyCorrelation, .axisRatio:
            scalarStatisticError(term.scalarStatistic!, b)
        case .vacf: velocityAutocorrelationError(b)
        case .vacfBatch: batchVelocityAutocorrelationError(b)
        case .positionACF: positionAutocorrelationError(b)
        case .blockHeterogeneity: blockHeterogeneityError(b)
        case .longLagMSD: longLagMSDError(b)
        case .stepProfile: stepProfileError(b)
        }
    }

    /// L1.
    private func meanSquaredError(_ b: Batch) -> Double {
        var mse = 0.0
        for i in 0..<(b.N * length * 2) {
            let e = Double(b.r[i]) - Double(b.rh[i])
            mse += e * e
        }
        return mse / b.nf
    }

    /// L2.
    private func klDivergence(_ b: Batch) -> Double {
        var kl = 0.0
        for i in 0..<(b.N * b.L) {
            let lv = Double(b.logvar[i])
            let m = Double(b.mu[i])
            kl += -0.5 * (1 + lv - m * m - Foundation.exp(lv))
        }
        return kl / b.nf
    }

    /// L3–L7, L10 and L15: the batch mean of the squared difference of one scalar statistic (`StatsLayout` index).
    private func scalarStatisticError(_ index: Int, _ b: Batch) -> Double {
        let S = StatsLayout.scalarCount
        var acc = 0.0
        for i in 0..<b.N {
            let e = scalA[i * S + index] - scalB[i * S + index]
            acc += e * e
        }
        return acc / b.nf
    }

    /// The largest lag of L8.
    var vacfMaxLag: Int { min(weights.vacfMaxLag, length - 2) }

    /// L8.
    private func velocityAutocorrelationError(_ b: Batch) -> Double {
        let lags = length - 2
        var l8 = 0.0
        for i in 0..<b.N {
            for tau in 1...vacfMaxLag {
                let e = vacfA[i * lags + tau - 1] - vacfB[i * lags + tau - 1]
                l8 += e * e / Double(tau)
            }
        }
        return l8 / b.nf
    }

    /// L9; keeps the batch differences in `batchDifference`.
    private func batchVelocityAutocorrelationError(_ b: Batch) -> Double {
        let lags = length - 2
        var sum = 0.0
        for tau in 0..<lags {
            var a = 0.0
            var c = 0.0
            for i in 0..<b.N {
                a += vacfA[i * lags + tau]
                c += vacfB[i * lags + tau]
            }
            batchDifference[tau] = (c - a) / b.nf
            sum += batchDifference[tau] * batchDifference[tau]
        }
        return sum / Double(lags)
    }

    /// L11.
    private func positionAutocorrelationError(_ b: Batch) -> Double {
        var l11 = 0.0
        for i in 0..<(b.N * (length - 1)) {
            let e = pacfA[i] - pacfB[i]
            l11 += e * e
        }
        return l11 / b.nf
    }

    /// The number of blocks K of L12.
    var heterogeneityBlocks: Int { max(1, min(weights.heterogeneityBlocks, length - 1)) }

    /// L12; keeps the heterogeneities and the reconstructions' block values.
    private func blockHeterogeneityError(_ b: Batch) -> Double {
        let T = length
        let K = heterogeneityBlocks
        blockLogsB.reserve(b.N * K)
        var l12 = 0.0
        for i in 0..<b.N {
            hetA[i] = PhysicsLoss.blockHeterogeneity(b.r + i * 2 * T, length: T, blocks: K)
            hetB[i] = PhysicsLoss.blockHeterogeneity(
                b.rh + i * 2 * T, length: T, blocks: K, logs: blockLogsB.base + i * K)
            let e = hetA[i] - hetB[i]
            l12 += e * e
        }
        return l12 / b.nf
    }

    /// The lags S of L13 (`msdLags` below T).
    var msdLags: [Int] { weights.msdLags.filter { $0 >= 1 && $0 < length } }

    /// L13; keeps the log MSDs of input and reconstruction.
    private func longLagMSDError(_ b: Batch) -> Double {
        let T = length
        let lags = msdLags
        let nl = lags.count
        if nl == 0 { return 0 }
        msdA.reserve(b.N * nl)
        msdB.reserve(b.N * nl)
        var l13 = 0.0
        for i in 0..<b.N {
            PhysicsLoss.logTimeAveragedMSD(b.r + i * 2 * T, length: T, lags: lags, out: msdA.base + i * nl)
            PhysicsLoss.logTimeAveragedMSD(b.rh + i * 2 * T, length: T, lags: lags, out: msdB.base + i * nl)
            for j in 0..<nl {
                let e = msdA[i * nl + j] - msdB[i * nl + j]
                l13 += e * e
            }
        }
        return l13 / Double(nl) / b.nf
    }

    /// L14; keeps ∂(w·L14)/∂Δr̂_{i,t} / Δr̂_{i,t} per frame in `profileCoefficient`.
    private func stepProfileError(_ b: Batch) -> Double {
        let M = length - 1
        let nf = b.nf
        for t in 0..<M {
            profileA[t] = 0
            profileB[t] = 0
        }
        for i in 0..<b.N {
            let a = b.r + i * 2 * length
            let c = b.rh + i * 2 * length
            for t in 0..<M {
                let ax = Double(a[2 * t + 2]) - Double(a[2 * t])
                let ay = Double(a[2 * t + 3]) - Double(a[2 * t + 1])
                let cx = Double(c[2 * t + 2]) - Double(c[2 * t])
                let cy = Double(c[2 * t + 3]) - Double(c[2 * t + 1])
                profileA[t] += ax * ax + ay * ay
                profileB[t] += cx * cx + cy * cy
            }
        }
        var l14 = 0.0
        for t in 0..<M {
            let pa = PhysicsLoss.logEpsilon + profileA[t] / nf
            let pb = PhysicsLoss.logEpsilon + profileB[t] / nf
            let e = Foundation.log(pb) - Foundation.log(pa)
            l14 += e * e
            profileCoefficient[t] = weights.stepProfile * 2 * e / Double(M) / pb * 2 / nf
        }
        return l14 / Double(M)
    }
}

/// Double-precision scratch owned by `PhysicsLoss` (a reference to memory its owner frees): grows, zeroed, when
/// asked for more; its contents are rewritten by every evaluation.
struct Scratch {
    private(set) var base = UnsafeMutablePointer<Double>.allocate(capacity: 1)
    private(set) var count = 0

    mutating func reserve(_ n: Int) {
        guard n > count else { return }
        base.deallocate()
        base = .allocate(capacity: n)
        base.initialize(repeating: 0, count: n)
        count = n
    }

    func free() { base.deallocate() }

    subscript(i: Int) -> Double {
        get { base[i] }
        nonmutating set { base[i] = newValue }
    }
}
