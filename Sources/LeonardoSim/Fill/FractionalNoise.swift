import CBLAS
import Foundation

/// Fractional Brownian motion seen through localisation noise: per axis, the recording of frame t is
///
///     y_t = m + B_H(t) + v_t,   Var[B_H(t) − B_H(s)] = 2D·|t − s|^{2H},   v_t ~ N(0, r),
///
/// with m an unknown offset (flat prior: the likelihood of the contrasts, universal kriging), D the generalised
/// diffusivity (nm² per frame^{2H}), H the Hurst exponent (H = ½: free diffusion with step variance 2D; H < ½:
/// anti-correlated steps, the subdiffusion of particles near a membrane, MSD ∝ t^{2H}) and r the localisation noise
/// variance (Mandelbrot & Van Ness, SIAM Review 10, 1968; as a tracking model: Sikora et al., Phys. Rev. E 96, 2017;
/// kriging with an unknown mean: Rasmussen & Williams, *Gaussian Processes for Machine Learning*, 2006, §2.7).
/// Both axes share (D, H, r). Exact Gaussian conditioning over one window of frames, in double precision.
/// docs/between-frames.md.
public struct FractionalNoise: Equatable, Sendable {
    public var diffusivity: Double
    public var hurst: Double
    public var noiseVariance: Double

    public init(diffusivity: Double, hurst: Double, noiseVariance: Double) {
        self.diffusivity = diffusivity
        self.hurst = hurst
        self.noiseVariance = noiseVariance
    }

    /// Cov[B(t), B(s)] of the motion anchored one frame before the window (the anchor drops out with the offset).
    func covariances(length T: Int) -> (lagPower: [Double], cov: (Int, Int) -> Double) {
        let lagPower = (0...(T + 1)).map { pow(Double($0), 2 * hurst) }
        let D = diffusivity
        return (lagPower, { t, s in D * (lagPower[t + 1] + lagPower[s + 1] - lagPower[abs(t - s)]) })
    }

    /// Lower Cholesky factor (row-major n×n) of a symmetric positive-definite matrix, by LAPACK `dpotrf`; nil when it
    /// is not positive definite.
    static func cholesky(_ a: [Double], n: Int) -> [Double]? {
        guard n > 0 else { return [] }
        _ = OpenBLAS.prepared
        // Row-major lower = column-major upper: ask LAPACK for 'U' of the same storage.
        var m = a
        var nn = Int32(n)
        var lda = Int32(n)
        var info: Int32 = 0
        var uplo = Int8(UInt8(ascii: "U"))
        dpotrf_(&uplo, &nn, &m, &lda, &info)
        guard info == 0 else { return nil }
        for i in 0..<n { for j in (i + 1)..<n { m[i * n + j] = 0 } }
        return m
    }

    /// Solves L·x = b (or Lᵀ·x = b when `transposed`) in place, L lower triangular, row-major n×n.
    static func triangularSolve(_ L: [Double], _ b: inout [Double], n: Int, transposed: Bool = false) {
        L.withUnsafeBufferPointer { l in
            b.withUnsafeMutableBufferPointer { x in
                cblas_dtrsv(
                    CblasRowMajor, CblasLower, transposed ? CblasTrans : CblasNoTrans, CblasNonUnit, Int32(n),
                    l.baseAddress, Int32(n), x.baseAddress, 1)
            }
        }
    }

    /// Solves (L·Lᵀ)·x = b in place.
    static func choleskySolve(_ L: [Double], _ b: inout [Double], n: Int) {
        triangularSolve(L, &b, n: n)
        triangularSolve(L, &b, n: n, transposed: true)
    }

    /// The model conditioned on which frames are recorded: everything that does not depend on the recorded values,
    /// factored once, so that the likelihood and the posterior of a new set of values cost two triangular solves.
    public struct Conditioned: Sendable {
        public let model: FractionalNoise
        public let observed: [Bool]
        let index: [Int]  // recorded frames
        let factor: [Double]  // Cholesky of K_oo + rI
        let ones: [Double]  // K⁻¹1
        let onesPrecision: Double  // 1ᵀK⁻¹1
        let gain: [Double]  // T×n: K_to K⁻¹
        let gainOnes: [Double]  // T: 1 − K_to K⁻¹ 1
        /// Posterior variance of the position (not the recording) per frame.
        public let variance: [Double]
        let logDeterminant: Double
        let hidden: [Int]
        let hiddenFactor: [Double]  // Cholesky of the hidden frames' joint posterior covariance

        /// nil when the covariance of the recorded frames is not positive definite. `likelihoodOnly` skips what only
        /// the posterior needs (a fit evaluates many candidates).
        public init?(model: FractionalNoise, observed: [Bool], likelihoodOnly: Bool = false) {
            let T = observed.count
            let index = (0..<T).filter { observed[$0] }
            let n = index.count
            guard n >= 2 else { return nil }
            let (_, cov) = model.covariances(length: T)
            var K = [Double](repeating: 0, count: n * n)
            for i in 0..<n {
                for j in 0...i {
                    let v = cov(index[i], index[j]) + (i == j ? model.noiseVariance : 0)
                    K[i * n + j] = v
                    K[j * n + i] = v
                }
            }
            guard let L = FractionalNoise.cholesky(K, n: n) else { return nil }
            var w = [Double](repeating: 1, count: n)
            choleskySolve(L, &w, n: n)
            let c = w.reduce(0, +)
            guard c > 0 else { return nil }
            var logDet = 0.0
            for i in 0..<n { logDet += 2 * log(L[i * n + i]) }
            self.model = model
            self.observed = observed
            self.index = index
            self.factor = L
            self.ones = w
            self.onesPrecision = c
            self.logDeterminant = logDet
            if likelihoodOnly {
                (gain, gainOnes, variance, hidden, hiddenFactor) = ([], [], [], [], [])
                return
            }
            // gain = K_to K⁻¹: row t solves K x = k_t.
            var gain = [Double](repeating: 0, count: T * n)
            var gainOnes = [Double](repeating: 0, count: T)
            var variance = [Double](repeating: 0, count: T)
            var kt = [Double](repeating: 0, count: n)
            for t in 0..<T {
                for j in 0..<n { kt[j] = cov(t, index[j]) }
                var x = kt
                triangularSolve(L, &x, n: n)
                var quad = 0.0
                for v in x { quad += v * v }
                triangularSolve(L, &x, n: n, transposed: true)
                var s = 0.0
                for j in 0..<n {
                    gain[t * n + j] = x[j]
                    s += x[j]
                }
                gainOnes[t] = 1 - s
                variance[t] = max(cov(t, t) - quad + gainOnes[t] * gainOnes[t] / c, 0)
            }
            // The hidden frames' joint posterior: K_hh − K_ho K⁻¹ K_oh + u uᵀ / c, u = 1 − K_ho K⁻¹ 1.
            let hidden = (0..<T).filter { !observed[$0] }
            let h = hidden.count
            var S = [Double](repeating: 0, count: h * h)
            for a in 0..<h {
                for b in 0...a {
                    var v = cov(hidden[a], hidden[b]) + gainOnes[hidden[a]] * gainOnes[hidden[b]] / c
                    for j in 0..<n { v -= gain[hidden[a] * n + j] * cov(index[j], hidden[b]) }
                    S[a * h + b] = v
                    S[b * h + a] = v
                }
            }
            var hiddenFactor: [Double]? = nil
            var jitter = 1e-10 * max(model.diffusivity, 1e-12)
            for _ in 0..<8 where hiddenFactor == nil {
                var J = S
                for a in 0..<h { J[a * h + a] += jitter }
                hiddenFactor = FractionalNoise.cholesky(J, n: h)
                jitter *= 100
            }
            guard let hf = hiddenFactor else { return nil }
            self.gain = gain
            self.gainOnes = gainOnes
            self.variance = variance
            self.hidden = hidden
            self.hiddenFactor = hf
        }

        /// log p(recorded values | D, H, r), the offset integrated out under a flat prior (the likelihood of the
        /// contrasts). `values` has one entry per frame (only recorded frames are read).
        public func logLikelihood(_ values: [Double]) -> Double {
            let n = index.count
            var alpha = index.map { values[$0] }
            let y = alpha
            choleskySolve(factor, &alpha, n: n)
            let offset = alpha.reduce(0, +) / onesPrecision
            var quad = 0.0
            for j in 0..<n { quad += (y[j] - offset) * (alpha[j] - offset * ones[j]) }
            return -0.5 * (quad + logDeterminant + log(onesPrecision) + Double(n - 1) * log(2 * Double.pi))
        }

        /// Posterior mean of the position at every frame.
        public func mean(_ values: [Double]) -> [Double] {
            let n = index.count
            var alpha = index.map { values[$0] }
            choleskySolve(factor, &alpha, n: n)
            let offset = alpha.reduce(0, +) / onesPrecision
            let T = observed.count
            var out = [Double](repeating: 0, count: T)
            for t in 0..<T {
                var s = offset * gainOnes[t]
                for j in 0..<n { s += gain[t * n + j] * values[index[j]] }
                out[t] = s
            }
            return out
        }

        /// One joint draw of every frame: recorded frames as recorded, hidden ones from their posterior (plus
        /// localisation noise when `recorded`: what the tracker would have recorded there).
        public func sample(_ values: [Double], recorded: Bool, rng: inout Xoshiro256StarStar) -> [Double] {
            var out = mean(values)
            let h = hidden.count
            let eta = (0..<h).map { _ in rng.normal() }
            for a in 0..<h {
                var s = 0.0
                for b in 0...a { s += hiddenFactor[a * h + b] * eta[b] }
                out[hidden[a]] += s
                if recorded { out[hidden[a]] += noiseStandardDeviation * rng.normal() }
            }
            for t in index { out[t] = values[t] }
            return out
        }

        var noiseStandardDeviation: Double { model.noiseVariance.squareRoot() }
    }
}

extension FractionalNoise {
    /// The unconstrained coordinates u = (log D, logit H, logit φ), φ = r/(r + D) the noise share of a one-frame
    /// contrast scale, and back. H is kept in [0.05, 0.95] and φ in [10⁻³, 0.999].
    public var coordinates: [Double] {
        let phi = noiseVariance / (noiseVariance + diffusivity)
        return [log(diffusivity), Self.logit(hurst), Self.logit(min(max(phi, 1e-3), 0.999))]
    }

    public init(coordinates u: [Double]) {
        let D = exp(min(max(u[0], -30), 30))
        let H = Self.logistic(min(max(u[1], Self.logit(0.05)), Self.logit(0.95)))
        let phi = Self.logistic(min(max(u[2], Self.logit(1e-3)), Self.logit(0.999)))
        self.init(diffusivity: D, hurst: H, noiseVariance: D * phi / (1 - phi))
    }

    static func logit(_ p: Double) -> Double { log(p / (1 - p)) }
    static func logistic(_ x: Double) -> Double { 1 / (1 + exp(-x)) }

    /// The population prior over u of a set of particles: a Gaussian with a robust centre (the median of each
    /// coordinate) and the sample covariance, tempered by `weight` (the penalty is weight·½(u − μ)ᵀΣ⁻¹(u − μ)).
    public struct Prior: Equatable, Sendable, Codable {
        public var centre: [Double]
        public var covariance: [Double]  // 3×3 row-major
        public var weight: Double
        /// Particles the prior was learned from and their frames.
        public var particles: Int
        public var frames: Int

        public init(centre: [Double], covariance: [Double], weight: Double, particles: Int, frames: Int) throws {
            guard centre.count == 3, covariance.count == 9, centre.allSatisfy(\.isFinite),
                covariance.allSatisfy(\.isFinite), weight >= 0, weight.isFinite
            else {
                throw LeonardoError.invalidData(
                    "a fractional-noise prior needs a centre of 3, a 3×3 covariance and a weight ≥ 0")
            }
            self.centre = centre
            self.covariance = covariance
            self.weight = weight
            self.particles = particles
            self.frames = frames
            guard FractionalNoise.cholesky(covariance, n: 3) != nil else {
                throw LeonardoError.invalidData("a fractional-noise prior's covariance is not positive definite")
            }
        }

        /// weight·½(u − μ)ᵀΣ⁻¹(u − μ).
        public func penalty(_ u: [Double]) -> Double {
            guard weight > 0, let L = FractionalNoise.cholesky(covariance, n: 3) else { return 0 }
            var d = (0..<3).map { u[$0] - centre[$0] }
            FractionalNoise.triangularSolve(L, &d, n: 3)
            return weight * 0.5 * d.reduce(0) { $0 + $1 * $1 }
        }

        /// The typical particle: the model at the centre.
        public var typical: FractionalNoise { FractionalNoise(coordinates: centre) }

        /// The file `gym-runner fill learn-prior` writes (JSON: a description and the prior).
        public struct File: Codable {
            public var description: String
            public var prior: Prior
            public init(description: String, prior: Prior) {
                self.description = description
                self.prior = prior
            }
        }

        /// Reads a prior file (`File`), checking the prior as `init` does.
        public static func read(_ path: String) throws -> Prior {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw LeonardoError.fileNotFound(path)
            }
            let p: Prior
            do {
                p = try JSONDecoder().decode(File.self, from: data).prior
            } catch {
                throw LeonardoError.invalidData(
                    "\(path): not a fractional-noise prior (JSON with 'prior': centre, covariance, weight …)")
            }
            do {
                return try Prior(
                    centre: p.centre, covariance: p.covariance, weight: p.weight, particles: p.particles,
                    frames: p.frames)
            } catch let LeonardoError.invalidData(message) {
                throw LeonardoError.invalidData("\(path): \(message)")
            }
        }
    }

    /// The maximum-likelihood model (or, with a prior, the maximum a posteriori one) of the recorded frames of both
    /// axes, by Nelder–Mead on u from the prior's centre (or from a moment estimate). nil when no candidate gives a
    /// positive-definite covariance.
    public static func fit(axes: [[Double]], observed: [Bool], prior: Prior? = nil) -> (
        model: FractionalNoise, logLikelihood: Double
    )? {
        func objective(_ u: [Double]) -> Double {
            let m = FractionalNoise(coordinates: u)
            guard let c = Conditioned(model: m, observed: observed, likelihoodOnly: true) else { return .infinity }
            var v = 0.0
            for y in axes { v -= c.logLikelihood(y) }
            return v + (prior?.penalty(u) ?? 0)
        }
        var starts = [[Double]]()
        if let prior { starts.append(prior.centre) }
        // A moment start: half the mean square one-frame contrast of the recorded neighbours as D, H = ½ or 0.35.
        var s = 0.0
        var k = 0.0
        for y in axes {
            for t in 1..<observed.count where observed[t] && observed[t - 1] {
                s += (y[t] - y[t - 1]) * (y[t] - y[t - 1])
                k += 1
            }
        }
        let D0 = k > 0 ? max(s / k / 2, 1e-12) : 1
        starts.append([log(D0), 0, logit(0.2)])
        if prior == nil { starts.append([log(D0), logit(0.35), logit(0.05)]) }
        var best: (u: [Double], value: Double)? = nil
        for start in starts {
            let r = NelderMead.minimize(objective, start: start, step: [0.5, 0.5, 1.0], iterations: 300)
            if r.value.isFinite && (best == nil || r.value < best!.value) { best = r }
        }
        guard let best else { return nil }
        let m = FractionalNoise(coordinates: best.u)
        return (m, best.value.isFinite ? -(best.value - (prior?.penalty(best.u) ?? 0)) : -.infinity)
    }

    /// Learns the population prior from fully recorded trajectories (each T×2 in data units): the maximum-likelihood
    /// model of each, then the median and covariance of their coordinates. `progress` is called after each.
    public static func learnPrior(
        trajectories: [[Double]], weight: Double, progress: ((Int) -> Void)? = nil
    ) throws -> Prior {
        guard trajectories.count >= 4 else {
            throw LeonardoError.invalidData(
                "learning a fractional-noise prior needs at least 4 trajectories, got \(trajectories.count)")
        }
        var us = [[Double]]()
        var frames = 0
        for (i, traj) in trajectories.enumerated() {
            let T = traj.count / 2
            frames = max(frames, T)
            let axes = (0..<2).map { a in (0..<T).map { traj[2 * $0 + a] } }
            if let f = fit(axes: axes, observed: [Bool](repeating: true, count: T)) { us.append(f.model.coordinates) }
            progress?(i + 1)
        }
        guard us.count >= 4 else { throw LeonardoError.invalidData("too few trajectories gave a fit (\(us.count))") }
        let n = Double(us.count)
        var centre = [Double](repeating: 0, count: 3)
        var mean = [Double](repeating: 0, count: 3)
        for j in 0..<3 {
            let v = us.map { $0[j] }.sorted()
            centre[j] = v.count % 2 == 1 ? v[v.count / 2] : (v[v.count / 2 - 1] + v[v.count / 2]) / 2
            mean[j] = v.reduce(0, +) / n
        }
        var cov = [Double](repeating: 0, count: 9)
        for u in us {
            for i in 0..<3 { for j in 0..<3 { cov[i * 3 + j] += (u[i] - mean[i]) * (u[j] - mean[j]) / (n - 1) } }
        }
        return try Prior(centre: centre, covariance: cov, weight: weight, particles: us.count, frames: frames)
    }
}

/// Nelder–Mead simplex minimisation (Nelder & Mead, Computer Journal 7, 1965; the standard coefficients 1, 2, ½, ½).
enum NelderMead {
    static func minimize(_ f: ([Double]) -> Double, start: [Double], step: [Double], iterations: Int) -> (
        u: [Double], value: Double
    ) {
        let d = start.count
        var simplex = [start]
        for i in 0..<d {
            var p = start
            p[i] += step[i]
            simplex.append(p)
        }
        var values = simplex.map(f)
        for _ in 0..<iterations {
            let order = values.indices.sorted { values[$0] < values[$1] }
            simplex = order.map { simplex[$0] }
            values = order.map { values[$0] }
            if abs(values[d] - values[0]) <= 1e-9 * (abs(values[0]) + 1e-9) { break }
            var centroid = [Double](repeating: 0, count: d)
            for p in simplex.prefix(d) { for i in 0..<d { centroid[i] += p[i] / Double(d) } }
            func along(_ t: Double) -> [Double] { (0..<d).map { centroid[$0] + t * (simplex[d][$0] - centroid[$0]) } }
            let reflected = along(-1)
            let fr = f(reflected)
            if fr < values[0] {
                let expanded = along(-2)
                let fe = f(expanded)
                (simplex[d], values[d]) = fe < fr ? (expanded, fe) : (reflected, fr)
            } else if fr < values[d - 1] {
                (simplex[d], values[d]) = (reflected, fr)
            } else {
                let contracted = fr < values[d] ? along(-0.5) : along(0.5)
                let fc = f(contracted)
                if fc < min(fr, values[d]) {
                    (simplex[d], values[d]) = (contracted, fc)
                } else {
                    for k in 1...d {
                        simplex[k] = (0..<d).map { simplex[0][$0] + 0.5 * (simplex[k][$0] - simplex[0][$0]) }
                        values[k] = f(simplex[k])
                    }
                }
            }
        }
        let best = values.indices.min { values[$0] < values[$1] } ?? 0
        return (simplex[best], values[best])
    }
}
