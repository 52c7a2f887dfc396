import CBLAS
import Foundation

/// Row-major single-precision matrix product through OpenBLAS: C = alpha·op(A)·op(B) + beta·C,
/// with op(A) of shape m×k and op(B) of shape k×n. Leading dimensions default to the packed ones.
///
/// Threading: OpenBLAS runs single-threaded (its idle pool threads otherwise spin in sched_yield against
/// the project's own workers); a large product is split by rows of C into one contiguous block per worker.
/// The split depends only on the sizes and the worker count, so results are deterministic.
@inline(__always)
public func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                  alpha: Float = 1, a: UnsafePointer<Float>, lda: Int? = nil,
                  b: UnsafePointer<Float>, ldb: Int? = nil,
                  beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int? = nil) {
    BLASThreads.ensureSingleThreaded
    let la = lda ?? (transA ? m : k)
    let lb = ldb ?? (transB ? k : n)
    let lc = ldc ?? n
    let workers = Workers.count
    if workers > 1 && !ParallelRegion.active && m >= 2 * workers && m * n * k >= 1 << 21 {
        ParallelRegion.run(workers) { w in
            let lo = m * w / workers, hi = m * (w + 1) / workers
            if hi > lo {
                sgemmSerial(transA: transA, transB: transB, m: hi - lo, n: n, k: k, alpha: alpha,
                            a: transA ? a + lo : a + lo * la, lda: la, b: b, ldb: lb, beta: beta, c: c + lo * lc, ldc: lc)
            }
        }
    } else if workers > 1 && !ParallelRegion.active && n >= 64 * workers && m * n * k >= 1 << 21 {
        // Few rows (a small decoder batch): split the columns instead, so each worker streams its share of B.
        ParallelRegion.run(workers) { w in
            let lo = n * w / workers, hi = n * (w + 1) / workers
            if hi > lo {
                sgemmSerial(transA: transA, transB: transB, m: m, n: hi - lo, k: k, alpha: alpha, a: a, lda: la,
                            b: transB ? b + lo * lb : b + lo, ldb: lb, beta: beta, c: c + lo, ldc: lc)
            }
        }
    } else {
        sgemmSerial(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: la, b: b, ldb: lb,
                    beta: beta, c: c, ldc: lc)
    }
}

@inline(__always)
func sgemmSerial(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                  alpha: Float = 1, a: UnsafePointer<Float>, lda: Int? = nil,
                  b: UnsafePointer<Float>, ldb: Int? = nil,
                  beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int? = nil) {
    let la = lda ?? (transA ? m : k)
    let lb = ldb ?? (transB ? k : n)
    let lc = ldc ?? n
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(la), b, Int32(lb), beta, c, Int32(lc))
}

/// Threads OpenBLAS may use for one call.
public enum BLASThreads {
    public static var count: Int { Int(openblas_get_num_threads()) }
    public static func set(_ n: Int) { openblas_set_num_threads(Int32(n)) }
    /// Switches OpenBLAS to one thread, once (the project parallelises products itself).
    static let ensureSingleThreaded: Void = { openblas_set_num_threads(1) }()
}


extension BLASThreads {
    /// GFLOP/s of an n×n×n cblas_sgemm using OpenBLAS's own thread pool (the machine's reference figure).
    public static func nativeSgemmGFLOPS(n: Int, threads: Int, seconds: Double, a: UnsafePointer<Float>,
                                         b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>) -> Double {
        set(threads)
        defer { set(1) }
        func call() { sgemmSerial(m: n, n: n, k: n, a: a, lda: n, b: b, ldb: n, c: c, ldc: n) }
        call()
        var calls = 0
        let start = Date()
        repeat { call(); calls += 1 } while Date().timeIntervalSince(start) < seconds
        return Double(calls) * 2 * Double(n * n * n) / Date().timeIntervalSince(start) / 1e9
    }
}
