import CBLAS
import Foundation
import Synchronization

/// Row-major single-precision matrix product through OpenBLAS: C = alpha·op(A)·op(B) + beta·C,
/// with op(A) of shape m×k and op(B) of shape k×n. Leading dimensions default to the packed ones.
///
/// Threading: OpenBLAS runs single-threaded (its idle pool threads otherwise spin in sched_yield against
/// the project's own workers); a large product is split by rows of C into one contiguous block per worker.
/// The split depends only on the sizes and the worker count, so results are deterministic.
@inline(__always)
public func sgemm(
    transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
    alpha: Float = 1, a: UnsafePointer<Float>, lda: Int? = nil,
    b: UnsafePointer<Float>, ldb: Int? = nil,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int? = nil
) {
    BLASThreads.ensureSingleThreaded
    let la = lda ?? (transA ? m : k)
    let lb = ldb ?? (transB ? k : n)
    let lc = ldc ?? n
    let workers = Workers.count
    // Row split: each worker streams all of op(B) and its share of op(A); column split: all of op(A) and its share
    // of op(B). Split the larger operand (a decoder batch of 32 rows against a 1024×6400 weight: columns).
    let splitColumns = n > m && n >= 64 * workers
    if workers > 1 && !ParallelRegion.active && !splitColumns && m >= 2 * workers && m * n * k >= 1 << 21 {
        ParallelRegion.run(workers) { w in
            let lo = m * w / workers
            let hi = m * (w + 1) / workers
            if hi > lo {
                sgemmSerial(
                    transA: transA, transB: transB, m: hi - lo, n: n, k: k, alpha: alpha,
                    a: transA ? a + lo : a + lo * la, lda: la, b: b, ldb: lb, beta: beta, c: c + lo * lc, ldc: lc)
            }
        }
    } else if workers > 1 && !ParallelRegion.active && n >= 64 * workers && m * n * k >= 1 << 21 {
        ParallelRegion.run(workers) { w in
            let lo = n * w / workers
            let hi = n * (w + 1) / workers
            if hi > lo {
                sgemmSerial(
                    transA: transA, transB: transB, m: m, n: hi - lo, k: k, alpha: alpha, a: a, lda: la,
                    b: transB ? b + lo * lb : b + lo, ldb: lb, beta: beta, c: c + lo, ldc: lc)
            }
        }
    } else {
        sgemmSerial(
            transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: la, b: b, ldb: lb,
            beta: beta, c: c, ldc: lc)
    }
}

@inline(__always)
func sgemmSerial(
    transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
    alpha: Float = 1, a: UnsafePointer<Float>, lda: Int? = nil,
    b: UnsafePointer<Float>, ldb: Int? = nil,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int? = nil
) {
    let la = lda ?? (transA ? m : k)
    let lb = ldb ?? (transB ? k : n)
    let lc = ldc ?? n
    _ = OpenBLAS.prepared
    let profiled = SgemmProfile.enabled
    let start = profiled ? SgemmProfile.now() : 0
    cblas_sgemm(
        CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
        Int32(m), Int32(n), Int32(k), alpha, a, Int32(la), b, Int32(lb), beta, c, Int32(lc))
    if profiled { SgemmProfile.record(nanoseconds: SgemmProfile.now() - start, m: m, n: n, k: k) }
}

/// Time spent inside `cblas_sgemm`, summed over all worker threads (for `gym-runner perf bench --layers`).
///
/// With `enabled` set, every call is timed with the monotonic clock (≈ 50 ns per call) and its seconds,
/// FLOPs and count are added atomically. Dividing the FLOPs by the summed seconds per worker gives the
/// throughput a computation would reach if everything except its matrix products took no time — the
/// ceiling OpenBLAS sets at the shapes the computation uses.
public enum SgemmProfile {
    nonisolated(unsafe) public static var enabled = false
    private static let nanosecondsTotal = Atomic<Int>(0)
    private static let flopsTotal = Atomic<Int>(0)
    private static let callsTotal = Atomic<Int>(0)
    private static let byShape = Mutex<[SgemmShape: (nanoseconds: Int, calls: Int)]>([:])

    @inline(__always) static func now() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return ts.tv_sec * 1_000_000_000 + ts.tv_nsec
    }

    static func record(nanoseconds: Int, m: Int, n: Int, k: Int) {
        nanosecondsTotal.add(nanoseconds, ordering: .relaxed)
        flopsTotal.add(2 * m * n * k, ordering: .relaxed)
        callsTotal.add(1, ordering: .relaxed)
        byShape.withLock { table in
            let old = table[SgemmShape(m: m, n: n, k: k)] ?? (0, 0)
            table[SgemmShape(m: m, n: n, k: k)] = (old.nanoseconds + nanoseconds, old.calls + 1)
        }
    }

    /// Clears the totals.
    public static func reset() {
        nanosecondsTotal.store(0, ordering: .relaxed)
        flopsTotal.store(0, ordering: .relaxed)
        callsTotal.store(0, ordering: .relaxed)
        byShape.withLock { $0 = [:] }
    }

    /// Per product shape (m×n×k of one call): seconds summed over threads and number of calls, slowest share first.
    public static var shapes: [(shape: SgemmShape, seconds: Double, calls: Int)] {
        byShape.withLock { table in
            table.map { ($0.key, Double($0.value.nanoseconds) / 1e9, $0.value.calls) }.sorted { $0.1 > $1.1 }
        }
    }

    /// Seconds inside cblas_sgemm summed over threads, FLOPs of those calls, number of calls.
    public static var totals: (seconds: Double, flops: Double, calls: Int) {
        (
            Double(nanosecondsTotal.load(ordering: .relaxed)) / 1e9, Double(flopsTotal.load(ordering: .relaxed)),
            callsTotal.load(ordering: .relaxed)
        )
    }
}

/// The shape of one sgemm call: C is m×n, the inner dimension k.
public struct SgemmShape: Hashable, Sendable, CustomStringConvertible {
    public let m: Int, n: Int, k: Int
    public var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
    public var description: String { "\(m)×\(n)×\(k)" }
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
    public static func nativeSgemmGFLOPS(
        n: Int, threads: Int, seconds: Double, a: UnsafePointer<Float>,
        b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>
    ) -> Double {
        set(threads)
        defer { set(1) }
        func call() { sgemmSerial(m: n, n: n, k: n, a: a, lda: n, b: b, ldb: n, c: c, ldc: n) }
        call()
        var calls = 0
        let start = Date()
        repeat {
            call()
            calls += 1
        } while Date().timeIntervalSince(start) < seconds
        return Double(calls) * 2 * Double(n * n * n) / Date().timeIntervalSince(start) / 1e9
    }
}

/// Which OpenBLAS runs the products. Its dynamic dispatch picks a kernel per CPU at load time; kernels sum in
/// different orders, so results are bit-identical for one kernel, not across kernels. The environment variable
/// `OPENBLAS_CORETYPE` (read when the library loads) pins the kernel; the golden traces of the test suite were
/// recorded with `Haswell` (AVX2 + FMA; `Zen` gives the same bits), which `scripts/test.sh` sets.
public enum OpenBLAS {
    /// The kernel in use, e.g. "Haswell" (after `prepared`: the automatic choice, if any, has been made).
    public static var kernel: String {
        _ = prepared
        return loadedKernel
    }
    static var loadedKernel: String { openblas_get_corename().map { String(cString: $0) } ?? "unknown" }
    /// The build: version and options.
    public static var configuration: String { openblas_get_config().map { String(cString: $0) } ?? "unknown" }
    /// The kernel the golden traces were recorded with.
    public static let goldenKernels: Set<String> = ["Haswell", "Zen"]
    /// OpenBLAS's pre-AVX kernels: the generic fallbacks it takes on CPUs it does not recognise.
    public static let preAVXKernels: Set<String> = [
        "Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Katmai", "Coppermine"
    ]

    /// The kernel MicroscopeGym switches OpenBLAS to, or nil to keep OpenBLAS's choice: only where OpenBLAS fell back
    /// to a pre-AVX kernel (`preAVXKernels`) on a CPU that runs AVX2 and FMA, and the user did not choose one with
    /// OPENBLAS_CORETYPE. SkylakeX on AVX-512F CPUs, Haswell on AVX2+FMA ones.
    public static func automaticKernel(loaded: String, cpu: KernelLevel, userChoice: String?) -> String? {
        guard userChoice == nil, preAVXKernels.contains(loaded), cpu >= .avx2 else { return nil }
        return preferredKernel(for: cpu)
    }

    /// OpenBLAS's kernel for a CPU of instruction-set level `cpu` (AVX2 or better): SkylakeX or Haswell.
    static func preferredKernel(for cpu: KernelLevel) -> String { cpu == .avx512 ? "SkylakeX" : "Haswell" }

    /// What the automatic choice did in this process: "SkylakeX (OpenBLAS chose Prescott on this CPU)", or nil.
    nonisolated(unsafe) public private(set) static var automaticChoice: String?

    /// Makes the automatic kernel choice once, before the first product (every `sgemm` and `kernel` read passes
    /// here), so the CLI, the C library behind Python and the tests all run the right kernel without user action.
    static let prepared: Void = {
        let loaded = loadedKernel
        let user = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"]
        guard let better = automaticKernel(loaded: loaded, cpu: KernelLevel.best, userChoice: user) else { return }
        if reselect(better) { automaticChoice = "\(better) (OpenBLAS chose \(loaded) on this CPU)" }
    }()

    /// Switches OpenBLAS's dynamic-architecture build to kernel `name` at run time, as OPENBLAS_CORETYPE would at load
    /// time: `gotoblas_dynamic_quit` and `gotoblas_dynamic_init` (found with dlsym, so a BLAS without them is left
    /// alone) with the variable set for the call and restored after. Returns whether the kernel is now `name`. Call
    /// it only while no product runs.
    @discardableResult
    public static func reselect(_ name: String) -> Bool {
        guard let quitSymbol = dlsym(nil, "gotoblas_dynamic_quit"), let initSymbol = dlsym(nil, "gotoblas_dynamic_init")
        else { return false }
        typealias Hook = @convention(c) () -> Void
        let quit = unsafeBitCast(quitSymbol, to: Hook.self)
        let start = unsafeBitCast(initSymbol, to: Hook.self)
        let previous = getenv("OPENBLAS_CORETYPE").map { String(cString: $0) }
        setenv("OPENBLAS_CORETYPE", name, 1)
        quit()
        start()
        if let previous { setenv("OPENBLAS_CORETYPE", previous, 1) } else { unsetenv("OPENBLAS_CORETYPE") }
        return loadedKernel.lowercased() == name.lowercased()
    }

    /// A warning when OpenBLAS still runs a pre-AVX kernel on a CPU that runs AVX2 (the automatic choice was
    /// refused, or the user chose it), with the variable that fixes it; nil otherwise.
    public static var slowKernelWarning: String? {
        let kernel = self.kernel
        guard preAVXKernels.contains(kernel), KernelLevel.best >= .avx2 else { return nil }
        let better = preferredKernel(for: KernelLevel.best)
        return "warning: OpenBLAS runs its \(kernel) kernel on a CPU with \(KernelLevel.best.name); "
            + "set OPENBLAS_CORETYPE=\(better) (or unset it) for several times its speed"
    }
}
