import Foundation
import LeonardoKernels

/// Worker threads for loops the project parallelises itself (attention heads, per-trajectory statistics).
/// Defaults to the number of active processors; set `MICROSCOPEGYM_THREADS` to override.
public enum Workers {
    public static var count: Int = {
        if let s = ProcessInfo.processInfo.environment["MICROSCOPEGYM_THREADS"], let n = Int(s), n > 0 { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()
}

/// Marks code running inside a parallel loop, so nested work (a GEMM inside a worker) stays serial.
enum ParallelRegion {
    nonisolated(unsafe) static var active = false

    /// Runs body(w) for w in 0..<workers with `active` set, on the pool (`runOnPool`).
    static func run(_ workers: Int, _ body: (Int) -> Void) {
        active = true
        defer { active = false }
        runOnPool(workers, body)
    }

    /// Runs body(w) for w in 0..<workers on the kernels' fork/join pool (`lk_pool_run`: its helpers spin between
    /// regions, where libdispatch's concurrentPerform started the second worker about 30 µs late); serially, in
    /// order, when the pool is busy with another thread's region.
    static func runOnPool(_ workers: Int, _ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { body in
            var task = body
            let ran = withUnsafeMutablePointer(to: &task) { p in
                lk_pool_run(
                    workers, { ctx, worker in ctx!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(worker) }, p)
            }
            if ran == 0 { for w in 0..<workers { body(w) } }
        }
    }
}

/// Runs body(item, worker) for item in 0..<count, split into contiguous chunks over `workers` threads.
/// The chunking depends only on `count` and `workers`, so results written per item are deterministic.
/// Called from inside another parallel loop it runs serially.
@inline(__always)
public func parallelFor(_ count: Int, workers: Int = Workers.count, _ body: (Int, Int) -> Void) {
    let w = max(1, min(workers, count))
    if w == 1 || ParallelRegion.active {
        for i in 0..<count { body(i, 0) }
        return
    }
    ParallelRegion.run(w) { worker in
        let lo = count * worker / w
        let hi = count * (worker + 1) / w
        for i in lo..<hi { body(i, worker) }
    }
}
