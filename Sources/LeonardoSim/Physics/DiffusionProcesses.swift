import Foundation

/// The classical stochastic processes the LEONARDO paper compares against (section 3.3), in 2-D, sampled at
/// T frames with unit time step, starting at the origin. Every generator is deterministic for a given
/// generator state and returns positions interleaved as T×2 (x₀, y₀, x₁, y₁, …) in double precision.
///
/// Definitions follow the anomalous-diffusion literature as collected by Muñoz-Gil et al., "Objective
/// comparison of methods to decode anomalous diffusion" (Nat. Commun. 12, 6253, 2021) and its `andi-datasets`
/// package; see `docs/trajectory-physics.md` for the formulas and the tests that validate them.
public enum DiffusionProcess {
    // MARK: Brownian motion

    /// Brownian motion: independent Gaussian steps with unit variance per axis (D = 1/2 in units of
    /// length²/frame), so MSD(t) = 2t in 2-D.
    public static func brownian(length T: Int, using rng: inout Xoshiro256StarStar) -> [Double] {
        var r = [Double](repeating: 0, count: 2 * T)
        for t in 1..<T {
            r[2 * t] = r[2 * t - 2] + rng.normal()
            r[2 * t + 1] = r[2 * t - 1] + rng.normal()
        }
        return r
    }

    // MARK: Fractional Brownian motion

    /// Autocovariance of unit-variance fractional Gaussian noise with Hurst exponent H:
    /// γ(k) = ½ (|k+1|^{2H} − 2|k|^{2H} + |k−1|^{2H}).
    public static func fgnAutocovariance(hurst H: Double, lag k: Int) -> Double {
        let k = Double(abs(k))
        return 0.5 * (pow(k + 1, 2 * H) - 2 * pow(k, 2 * H) + pow(abs(k - 1), 2 * H))
    }

    /// How fractional Gaussian noise is sampled.
    public enum FGNMethod: Sendable {
        /// Davies–Harte circulant embedding (exact, O(n log n)); falls back to Hosking when the embedding
        /// has a negative eigenvalue.
        case daviesHarte
        /// Hosking's Durbin–Levinson recursion (exact, O(n²)); never fails.
        case hosking
    }

    /// Two independent unit-variance fractional Gaussian noise series of `count` points with Hurst exponent
    /// H ∈ (0, 1), one per axis. Returns the method actually used (Davies–Harte can fall back to Hosking).
    ///
    /// Davies & Harte (Biometrika 74, 95, 1987); Dietrich & Newsam (SIAM J. Sci. Comput. 18, 1088, 1997):
    /// embed the n×n Toeplitz covariance in a circulant of size 2m (m a power of two ≥ n) with first row
    /// γ(0), …, γ(m), γ(m−1), …, γ(1); its eigenvalues λ are the FFT of that row. With Z = Z₁ + iZ₂ standard
    /// complex normal, Y = FFT(√(λ/2m) ⊙ Z) has real and imaginary parts that are independent with exactly
    /// the circulant covariance, so their first n entries are two independent fGn samples. For fGn the
    /// minimal embedding is non-negative definite for every H (Craigmile, J. Time Ser. Anal. 24, 505, 2003);
    /// the Hosking fallback covers rounding or callers' other covariances.
    public static func fractionalGaussianNoise(
        hurst H: Double, count n: Int, method: FGNMethod = .daviesHarte,
        using rng: inout Xoshiro256StarStar
    ) -> (x: [Double], y: [Double], method: FGNMethod) {
        precondition(H > 0 && H < 1, "Hurst exponent must lie in (0, 1)")
        precondition(n >= 1)
        if method == .daviesHarte {
            let m = FFT.powerOfTwo(atLeast: max(n, 2))
            let size = 2 * m
            var lamRe = [Double](repeating: 0, count: size)
            var lamIm = [Double](repeating: 0, count: size)
            for k in 0...m { lamRe[k] = fgnAutocovariance(hurst: H, lag: k) }
            for k in 1..<m { lamRe[size - k] = lamRe[k] }
            FFT.forward(&lamRe, &lamIm)
            let largest = lamRe.max() ?? 1
            if lamRe.allSatisfy({ $0 >= -1e-9 * largest }) {
                var re = [Double](repeating: 0, count: size)
                var im = [Double](repeating: 0, count: size)
                for k in 0..<size {
                    let a = (max(lamRe[k], 0) / Double(size)).squareRoot()
                    re[k] = a * rng.normal()
                    im[k] = a * rng.normal()
                }
                FFT.forward(&re, &im)
                return (Array(re[0..<n]), Array(im[0..<n]), .daviesHarte)
            }
        }
        let (x, y) = hoskingFGN(hurst: H, count: n, using: &rng)
        return (x, y, .hosking)
    }

    /// Hosking (1984) / Durbin–Levinson: x_t = Σ_j φ_{t,j} x_{t−j} + √v_t z_t with the partial
    /// autocorrelations of the fGn covariance. Exact for any stationary covariance; both axes share φ.
    static func hoskingFGN(hurst H: Double, count n: Int, using rng: inout Xoshiro256StarStar) -> ([Double], [Double]) {
        let gamma = (0..<n).map { fgnAutocovariance(hurst: H, lag: $0) }
        var x = [Double](repeating: 0, count: n)
        var y = [Double](repeating: 0, count: n)
        var phi = [Double](repeating: 0, count: n)
        var previous = [Double](repeating: 0, count: n)
        var v = gamma[0]
        x[0] = v.squareRoot() * rng.normal()
        y[0] = v.squareRoot() * rng.normal()
        for t in 1..<max(n, 1) where t < n {
            var num = gamma[t]
            for j in 1..<t { num -= previous[j] * gamma[t - j] }
            let ptt = num / v
            phi[t] = ptt
            for j in 1..<t { phi[j] = previous[j] - ptt * previous[t - j] }
            v *= (1 - ptt * ptt)
            var mx = 0.0
            var my = 0.0
            for j in 1...t {
                mx += phi[j] * x[t - j]
                my += phi[j] * y[t - j]
            }
            let s = max(v, 0).squareRoot()
            x[t] = mx + s * rng.normal()
            y[t] = my + s * rng.normal()
            for j in 1...t { previous[j] = phi[j] }
        }
        return (x, y)
    }

    /// Fractional Brownian motion with anomalous exponent α ∈ (0, 2) (Hurst H = α/2): cumulative sum of
    /// unit-variance fractional Gaussian noise, so MSD(t) = 2 t^α in 2-D and the steps have autocovariance
    /// ½(|k+1|^α − 2|k|^α + |k−1|^α) (Mandelbrot & Van Ness, SIAM Rev. 10, 422, 1968).
    public static func fractionalBrownian(alpha: Double, length T: Int, using rng: inout Xoshiro256StarStar) -> [Double]
    {
        precondition(alpha > 0 && alpha < 2, "FBM needs α in (0, 2)")
        var r = [Double](repeating: 0, count: 2 * T)
        guard T > 1 else { return r }
        let (dx, dy, _) = fractionalGaussianNoise(hurst: alpha / 2, count: T - 1, using: &rng)
        for t in 1..<T {
            r[2 * t] = r[2 * t - 2] + dx[t - 1]
            r[2 * t + 1] = r[2 * t - 1] + dy[t - 1]
        }
        return r
    }

    // MARK: Continuous-time random walk

    /// Pareto time with tail ψ(τ) ∝ τ^{−1−a} for τ ≥ 1: τ = U^{−1/a} (Lévy-walk flights).
    @inline(__always)
    static func paretoTime(_ a: Double, _ rng: inout Xoshiro256StarStar) -> Double {
        pow(rng.uniformPositive(), -1 / a)
    }

    /// Mittag-Leffler waiting time of order α ∈ (0, 1] and unit scale (Fulger, Scalas & Germano, PRE 77,
    /// 021122, 2008): τ = −ln u · (sin(απ)/tan(απv) − cos(απ))^{1/α}, u, v ~ U(0, 1). Its density has the
    /// power-law tail ψ(τ) ∝ τ^{−1−α} (α < 1) and Laplace transform 1/(1 + s^α); α = 1 is the exponential.
    @inline(__always)
    static func mittagLefflerTime(_ alpha: Double, _ rng: inout Xoshiro256StarStar) -> Double {
        let u = rng.uniformPositive()
        let v = rng.uniformPositive()
        if alpha >= 1 { return -Foundation.log(u) }
        let a = alpha * Double.pi
        let base = sin(a) / tan(a * v) - cos(a)
        return -Foundation.log(u) * pow(max(base, 0), 1 / alpha)
    }

    /// Continuous-time random walk (Montroll & Weiss, J. Math. Phys. 6, 167, 1965) with α ∈ (0, 1]: the
    /// walker waits a Mittag-Leffler time (heavy tail ψ(τ) ∝ τ^{−1−α}), then makes a Gaussian jump of unit
    /// variance per axis; positions are read at integer times. With these waiting times the mean number of
    /// jumps is exactly t^α/Γ(1+α) at every t (Laplace transform 1/(1+s^α)), so the ensemble MSD is
    /// 2 t^α/Γ(1+α) in 2-D without the slow pre-asymptotic regime of Pareto waiting times.
    public static func ctrw(alpha: Double, length T: Int, using rng: inout Xoshiro256StarStar) -> [Double] {
        precondition(alpha > 0 && alpha <= 1, "CTRW needs α in (0, 1]")
        var r = [Double](repeating: 0, count: 2 * T)
        var x = 0.0
        var y = 0.0
        var nextJump = mittagLefflerTime(alpha, &rng)
        for t in 0..<T {
            while nextJump <= Double(t) {
                x += rng.normal()
                y += rng.normal()
                nextJump += mittagLefflerTime(alpha, &rng)
            }
            r[2 * t] = x
            r[2 * t + 1] = y
        }
        return r
    }

    // MARK: Annealed transient time model

    /// Annealed transient time model (Massignan et al., PRL 112, 150603, 2014): the diffusivity is renewed
    /// at random times; each period draws D = U^{1/σ} (density ∝ D^{σ−1} near 0) and lasts τ = D^{−γ}, so
    /// slow periods last long. Within a period the walker is Brownian with diffusivity D (variance 2D·Δt per
    /// axis over Δt, periods split exactly at frame boundaries). In the regime σ < γ < σ + 1 the ensemble
    /// MSD grows as t^{σ/γ}; we set σ = ½·min(2, α/(1−α)) and γ = σ/α, which lies inside that regime for
    /// every α ∈ (0, 1] (outside it, γ > σ + 1, the MSD would grow as t^{1−1/γ} instead).
    public static func attm(alpha: Double, length T: Int, using rng: inout Xoshiro256StarStar) -> [Double] {
        precondition(alpha > 0 && alpha <= 1, "ATTM needs α in (0, 1]")
        let sigma = alpha >= 1 ? 1.0 : 0.5 * min(2, alpha / (1 - alpha))
        let gamma = sigma / alpha
        var r = [Double](repeating: 0, count: 2 * T)
        var d = pow(rng.uniformPositive(), 1 / sigma)
        var periodLeft = pow(d, -gamma)
        for t in 1..<max(T, 1) where t < T {
            var variance = 0.0
            var remaining = 1.0
            while remaining > 0 {
                let dt = min(remaining, periodLeft)
                variance += 2 * d * dt
                remaining -= dt
                periodLeft -= dt
                if periodLeft <= 0 {
                    d = pow(rng.uniformPositive(), 1 / sigma)
                    periodLeft = pow(d, -gamma)
                }
            }
            let s = variance.squareRoot()
            r[2 * t] = r[2 * t - 2] + s * rng.normal()
            r[2 * t + 1] = r[2 * t - 1] + s * rng.normal()
        }
        return r
    }

    // MARK: Scaled Brownian motion

    /// Scaled Brownian motion (Lim & Muniandy, PRE 66, 021114, 2002): Brownian motion with time-dependent
    /// diffusivity D(t) = (α/2) t^{α−1}; the step from t to t+1 has variance (t+1)^α − t^α per axis, so the
    /// MSD is exactly 2 t^α in 2-D.
    public static func scaledBrownian(alpha: Double, length T: Int, using rng: inout Xoshiro256StarStar) -> [Double] {
        precondition(alpha > 0 && alpha < 2, "SBM needs α in (0, 2)")
        var r = [Double](repeating: 0, count: 2 * T)
        for t in 1..<max(T, 1) where t < T {
            let s = (pow(Double(t), alpha) - pow(Double(t - 1), alpha)).squareRoot()
            r[2 * t] = r[2 * t - 2] + s * rng.normal()
            r[2 * t + 1] = r[2 * t - 1] + s * rng.normal()
        }
        return r
    }

    // MARK: Lévy walk

    /// Lévy walk (Zaburdaev, Denisov & Klafter, RMP 87, 483, 2015) with α ∈ (1, 2): flights of Pareto
    /// duration τ ≥ 1, ψ(τ) ∝ τ^{−1−σ} with σ = 3 − α, at unit speed in a uniformly random direction;
    /// positions are read at integer times (linear within a flight). The MSD grows as t^α (superdiffusive).
    public static func levyWalk(alpha: Double, length T: Int, using rng: inout Xoshiro256StarStar) -> [Double] {
        precondition(alpha > 1 && alpha < 2, "Lévy walk needs α in (1, 2)")
        let sigma = 3 - alpha
        var r = [Double](repeating: 0, count: 2 * T)
        var x = 0.0
        var y = 0.0
        var time = 0.0
        var flightEnd = paretoTime(sigma, &rng)
        var theta = 2 * Double.pi * rng.uniform()
        for t in 1..<max(T, 1) where t < T {
            let target = Double(t)
            while flightEnd < target {
                let dt = flightEnd - time
                x += dt * cos(theta)
                y += dt * sin(theta)
                time = flightEnd
                theta = 2 * Double.pi * rng.uniform()
                flightEnd += paretoTime(sigma, &rng)
            }
            let dt = target - time
            x += dt * cos(theta)
            y += dt * sin(theta)
            time = target
            r[2 * t] = x
            r[2 * t + 1] = y
        }
        return r
    }
}
