import Dispatch
import Foundation

/// Worker threads for loops the project parallelises itself (attention heads, per-trajectory statistics).
/// Defaults to the number of active processors; set `MICROSCOPEGYM_THREADS` to override.
public enum Workers {
    public static var count: Int = {
        if let s = ProcessInfo.processInfo.environment["MICROSCOPEGYM_THREADS"], let n = Int(s), n > 0 { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()
}

/// Runs body(item, worker) for item in 0..<count, split into contiguous chunks over `workers` threads.
/// The chunking depends only on `count` and `workers`, so results written per item are deterministic.
@inline(__always)
public func parallelFor(_ count: Int, workers: Int = Workers.count, _ body: (Int, Int) -> Void) {
    let w = max(1, min(workers, count))
    if w == 1 {
        for i in 0..<count { body(i, 0) }
        return
    }
    DispatchQueue.concurrentPerform(iterations: w) { worker in
        let lo = count * worker / w, hi = count * (worker + 1) / w
        for i in lo..<hi { body(i, worker) }
    }
}

/// Runs `body` with OpenBLAS restricted to one thread (for loops that parallelise over many small GEMMs),
/// restoring the previous thread count afterwards.
@inline(__always)
public func withSingleThreadedBLAS<R>(_ body: () -> R) -> R {
    let previous = BLASThreads.count
    if previous == 1 { return body() }
    BLASThreads.set(1)
    defer { BLASThreads.set(previous) }
    return body()
}
