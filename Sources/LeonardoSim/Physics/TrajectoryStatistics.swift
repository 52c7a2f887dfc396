import Foundation

/// The trajectory statistics of the LEONARDO paper (section 3.4 and appendix C), in one place:
/// the physics-informed loss, the environment's observation features and the fidelity metrics use these.
///
/// For a trajectory r_0 … r_{T−1} in 2-D, steps Δr_t = r_{t+1} − r_t (M = T − 1 of them) and step sizes
/// s_t = |Δr_t|:
/// - step-size mean m, variance m₂ = ⟨(s−m)²⟩, skewness m₃/m₂^{3/2}, kurtosis m₄/m₂² (population moments);
/// - median step: the lower median, element ⌊(M−1)/2⌋ of the sorted s (its gradient is a subgradient
///   through that selected element);
/// - velocity autocorrelation C_v(τ) = [Σ_{t<M−τ} Δr_t·Δr_{t+τ}/(M−τ)] / [Σ_t |Δr_t|²/M], τ = 1 … M−1;
/// - positional autocorrelation C_r(τ) = [Σ_{t<T−τ} r_t·r_{t+τ}/(T−τ)] / [Σ_t |r_t|²/T], τ = 1 … T−1;
/// - x–y step correlation ρ = cov(Δx, Δy)/√(var Δx · var Δy) (0 when either variance vanishes);
/// - log x:y step-std ratio ½ log(ε + var Δx) − ½ log(ε + var Δy), ε = 10⁻⁶.
/// Accumulation is in double precision.
public struct TrajectoryStatistics: Equatable, Sendable {
    public var meanStep = 0.0, stepVariance = 0.0, stepSkewness = 0.0, stepKurtosis = 0.0
    public var medianStep = 0.0
    /// Index (into the steps) of the element selected as the median.
    public var medianIndex = 0
    /// C_v(τ) for τ = 1 … T−2 (element τ−1).
    public var velocityAutocorrelation: [Double] = []
    /// C_r(τ) for τ = 1 … T−1 (element τ−1).
    public var positionAutocorrelation: [Double] = []
    public var xyStepCorrelation = 0.0
    /// ½ log(ε + var Δx) − ½ log(ε + var Δy), ε = `PhysicsLoss.logEpsilon`: the log ratio of the x- and y-step
    /// standard deviations (loss term L15).
    public var logXYStepStdRatio = 0.0

    public init() {}

    /// Statistics of one trajectory stored as T×2 interleaved (x, y) floats.
    public init(trajectory r: UnsafePointer<Float>, length T: Int) {
        precondition(T >= 3, "statistics need at least 3 frames")
        let M = T - 1
        var scalars = [Double](repeating: 0, count: StatsLayout.scalarCount)
        var vacf = [Double](repeating: 0, count: M - 1)
        var pacf = [Double](repeating: 0, count: T - 1)
        var scratch = StatsScratch(length: T)
        scalars.withUnsafeMutableBufferPointer { s in
            vacf.withUnsafeMutableBufferPointer { v in
                pacf.withUnsafeMutableBufferPointer { p in
                    computeStatistics(
                        r, length: T, scalars: s.baseAddress!, vacf: v.baseAddress!, pacf: p.baseAddress!,
                        scratch: &scratch)
                }
            }
        }
        meanStep = scalars[StatsLayout.mean]
        stepVariance = scalars[StatsLayout.variance]
        stepSkewness = scalars[StatsLayout.skewness]
        stepKurtosis = scalars[StatsLayout.kurtosis]
        medianStep = scalars[StatsLayout.median]
        medianIndex = Int(scalars[StatsLayout.medianIndex])
        xyStepCorrelation = scalars[StatsLayout.rho]
        logXYStepStdRatio = scalars[StatsLayout.axisRatio]
        velocityAutocorrelation = vacf
        positionAutocorrelation = pacf
    }

    /// Convenience for a [Float] holding T×2 values.
    public init(trajectory: [Float]) {
        precondition(trajectory.count % 2 == 0)
        self = trajectory.withUnsafeBufferPointer {
            TrajectoryStatistics(trajectory: $0.baseAddress!, length: $0.count / 2)
        }
    }
}

/// Positions of the scalar statistics in a per-trajectory scalar row.
enum StatsLayout {
    static let mean = 0, variance = 1, skewness = 2, kurtosis = 3, median = 4, medianIndex = 5, rho = 6
    static let axisRatio = 7
    static let scalarCount = 8
}

/// Per-thread scratch for statistics: steps, step sizes, and a selection buffer.
struct StatsScratch {
    var steps: [Double], positions: [Double], sizes: [Double], select: [Double], selectIndex: [Int]
    init(length T: Int) {
        steps = [Double](repeating: 0, count: 2 * (T - 1))
        positions = [Double](repeating: 0, count: 2 * T)
        sizes = [Double](repeating: 0, count: T - 1)
        select = [Double](repeating: 0, count: T - 1)
        selectIndex = [Int](repeating: 0, count: T - 1)
    }
}

/// Quickselect: returns the index (into the original order) of the k-th smallest of values[0..<n].
/// Deterministic (middle-element pivot); values and idx are scratch.
func selectKth(_ values: UnsafeMutablePointer<Double>, _ idx: UnsafeMutablePointer<Int>, _ n: Int, _ k: Int) -> Int {
    for i in 0..<n { idx[i] = i }
    var lo = 0
    var hi = n - 1
    while lo < hi {
        let pivot = values[(lo + hi) / 2]
        var i = lo
        var j = hi
        while i <= j {
            while values[i] < pivot { i += 1 }
            while values[j] > pivot { j -= 1 }
            if i <= j {
                let tv = values[i]
                values[i] = values[j]
                values[j] = tv
                let ti = idx[i]
                idx[i] = idx[j]
                idx[j] = ti
                i += 1
                j -= 1
            }
        }
        if k <= j { hi = j } else if k >= i { lo = i } else { break }
    }
    return idx[k]
}

/// Computes all statistics of one trajectory (T×2 floats) into caller-provided storage.
func computeStatistics(
    _ r: UnsafePointer<Float>, length T: Int, scalars: UnsafeMutablePointer<Double>,
    vacf: UnsafeMutablePointer<Double>, pacf: UnsafeMutablePointer<Double>, scratch: inout StatsScratch
) {
    let M = T - 1
    scratch.steps.withUnsafeMutableBufferPointer { dp in
        scratch.sizes.withUnsafeMutableBufferPointer { sp in
            scratch.select.withUnsafeMutableBufferPointer { selp in
                scratch.selectIndex.withUnsafeMutableBufferPointer { selIdx in
                    let d = dp.baseAddress!
                    let s = sp.baseAddress!
                    for t in 0..<M {
                        let dx = Double(r[2 * (t + 1)]) - Double(r[2 * t])
                        let dy = Double(r[2 * (t + 1) + 1]) - Double(r[2 * t + 1])
                        d[2 * t] = dx
                        d[2 * t + 1] = dy
                        s[t] = (dx * dx + dy * dy).squareRoot()
                    }
                    let (m, m2, m3, m4) = centralMoments(UnsafeBufferPointer(start: s, count: M))
                    scalars[StatsLayout.mean] = m
                    scalars[StatsLayout.variance] = m2
                    scalars[StatsLayout.skewness] = m2 > 0 ? m3 / (m2 * m2.squareRoot()) : 0
                    scalars[StatsLayout.kurtosis] = m2 > 0 ? m4 / (m2 * m2) : 0
                    for t in 0..<M { selp[t] = s[t] }
                    let k = selectKth(selp.baseAddress!, selIdx.baseAddress!, M, (M - 1) / 2)
                    scalars[StatsLayout.median] = s[k]
                    scalars[StatsLayout.medianIndex] = Double(k)
                    // x–y step correlation
                    let xy = XYStepMoments(d, count: M)
                    scalars[StatsLayout.rho] = xy.correlation
                    scalars[StatsLayout.axisRatio] = xy.logStdRatio(count: M, epsilon: PhysicsLoss.logEpsilon)
                    // autocorrelations
                    autocorrelation(d, count: M, out: vacf)
                }
            }
        }
    }
    scratch.positions.withUnsafeMutableBufferPointer { pp in
        for i in 0..<(2 * T) { pp[i] = Double(r[i]) }
        autocorrelation(pp.baseAddress!, count: T, out: pacf)
    }
}

/// C(τ) = [Σ_{t<n−τ} a_t·a_{t+τ}/(n−τ)] / [Σ |a_t|²/n] for τ = 1 … n−1 over 2-D vectors a (n×2 doubles).
@inline(__always)
func autocorrelation(_ a: UnsafePointer<Double>, count n: Int, out: UnsafeMutablePointer<Double>) {
    var den = 0.0
    for t in 0..<n { den += a[2 * t] * a[2 * t] + a[2 * t + 1] * a[2 * t + 1] }
    den /= Double(n)
    for tau in 1..<n {
        var num = 0.0
        for t in 0..<(n - tau) { num += a[2 * t] * a[2 * (t + tau)] + a[2 * t + 1] * a[2 * (t + tau) + 1] }
        out[tau - 1] = den > 0 ? num / Double(n - tau) / den : 0
    }
}

/// Means and centred sums of squares and products of the x and y components of M steps (2M doubles, interleaved):
/// the x–y step correlation and its gradient.
struct XYStepMoments {
    let meanX: Double, meanY: Double
    /// Σ (Δx − ⟨Δx⟩)(Δy − ⟨Δy⟩), Σ (Δx − ⟨Δx⟩)², Σ (Δy − ⟨Δy⟩)².
    let covariance: Double, varianceX: Double, varianceY: Double

    @inline(__always)
    init(_ d: UnsafePointer<Double>, count M: Int) {
        var sumx = 0.0
        var sumy = 0.0
        for t in 0..<M {
            sumx += d[2 * t]
            sumy += d[2 * t + 1]
        }
        meanX = sumx / Double(M)
        meanY = sumy / Double(M)
        var cxy = 0.0
        var vx = 0.0
        var vy = 0.0
        for t in 0..<M {
            let a = d[2 * t] - meanX
            let b = d[2 * t + 1] - meanY
            cxy += a * b
            vx += a * a
            vy += b * b
        }
        covariance = cxy
        varianceX = vx
        varianceY = vy
    }

    /// ρ = cov/√(var_x var_y), 0 when either variance vanishes.
    var correlation: Double {
        varianceX > 0 && varianceY > 0 ? covariance / (varianceX * varianceY).squareRoot() : 0
    }

    /// ½ log(ε + v_x) − ½ log(ε + v_y) with v the population variances of the M steps' components: the log ratio of
    /// the x- and y-step standard deviations.
    func logStdRatio(count M: Int, epsilon: Double) -> Double {
        0.5 * (Foundation.log(epsilon + varianceX / Double(M)) - Foundation.log(epsilon + varianceY / Double(M)))
    }
}

/// Population central moments of n values: mean, m₂, m₃, m₄ (sums in order, then divided by n).
@inline(__always)
func centralMoments(_ x: UnsafeBufferPointer<Double>) -> (mean: Double, m2: Double, m3: Double, m4: Double) {
    let n = x.count
    var sum = 0.0
    for i in 0..<n { sum += x[i] }
    let mean = sum / Double(n)
    var m2 = 0.0
    var m3 = 0.0
    var m4 = 0.0
    for i in 0..<n {
        let c = x[i] - mean
        let c2 = c * c
        m2 += c2
        m3 += c2 * c
        m4 += c2 * c2
    }
    return (mean, m2 / Double(n), m3 / Double(n), m4 / Double(n))
}

/// Adds to g (n×2 doubles) the gradient of Σ_τ w_τ·C(τ) with respect to the vectors a, given C already computed.
@inline(__always)
func autocorrelationBackward(
    _ a: UnsafePointer<Double>, count n: Int, c: UnsafePointer<Double>,
    weights w: UnsafePointer<Double>, maxLag: Int, grad g: UnsafeMutablePointer<Double>
) {
    var den = 0.0
    for t in 0..<n { den += a[2 * t] * a[2 * t] + a[2 * t + 1] * a[2 * t + 1] }
    den /= Double(n)
    if den <= 0 { return }
    var wc = 0.0
    for tau in 1...maxLag {
        let wt = w[tau - 1]
        if wt == 0 { continue }
        wc += wt * c[tau - 1]
        let f = wt / (Double(n - tau) * den)
        for t in 0..<(n - tau) {
            g[2 * t] += f * a[2 * (t + tau)]
            g[2 * t + 1] += f * a[2 * (t + tau) + 1]
            g[2 * (t + tau)] += f * a[2 * t]
            g[2 * (t + tau) + 1] += f * a[2 * t + 1]
        }
    }
    let k = 2 * wc / (Double(n) * den)
    for t in 0..<(2 * n) { g[t] -= k * a[t] }
}
