import Foundation
import LeonardoKernels

/// Which implementation the attention layers use for inference (training always keeps the reference path, whose
/// probabilities the backward pass reads). One switch for the process: `MICROSCOPEGYM_ATTENTION=blas` or `=fused`.
/// `gym-runner bench` measures both.
public enum AttentionKernel: String, Sendable, CaseIterable {
    /// Per head: scores by `cblas_sgemm` (T×T×D), softmax rows, product with V by `cblas_sgemm` (the readable
    /// reference).
    case blas
    /// Per head and tile of six queries: scores, softmax and the weighted sum of V in one pass in cache
    /// (`lk_attention_head` in Sources/LeonardoKernels, AVX-512F or AVX2+FMA picked by the CPU at run time).
    case fused

    nonisolated(unsafe) public static var current: AttentionKernel =
        ProcessInfo.processInfo.environment["MICROSCOPEGYM_ATTENTION"].flatMap(AttentionKernel.init(rawValue:))
        ?? .blas
}

/// Instruction sets of the hand-written kernels, best first; the CPU's best one is used unless
/// `MICROSCOPEGYM_KERNEL_LEVEL` (0, 1 or 2) or `KernelLevel.current` asks for a lower one.
public enum KernelLevel: Int, Sendable, CaseIterable, Comparable {
    /// Plain C loops (the kernels' own reference).
    case portable = 0
    /// 8-lane AVX2 with fused multiply-add.
    case avx2 = 1
    /// 16-lane AVX-512F.
    case avx512 = 2

    /// The highest level this CPU runs.
    public static let best = KernelLevel(rawValue: Int(lk_best_level())) ?? .portable

    nonisolated(unsafe) public static var current: KernelLevel = {
        if let s = ProcessInfo.processInfo.environment["MICROSCOPEGYM_KERNEL_LEVEL"], let n = Int(s),
            let level = KernelLevel(rawValue: n)
        {
            return min(level, best)
        }
        return best
    }()

    /// Levels this CPU runs, lowest first.
    public static var supported: [KernelLevel] { allCases.filter { $0 <= best } }

    public var name: String {
        switch self {
        case .portable: "portable C"
        case .avx2: "AVX2+FMA"
        case .avx512: "AVX-512F"
        }
    }

    public static func < (a: KernelLevel, b: KernelLevel) -> Bool { a.rawValue < b.rawValue }
}

/// Floats of scratch `fusedAttentionHead` needs for one head of `length` keys and width `headDim`.
func fusedAttentionScratch(length T: Int, headDim D: Int) -> Int { lk_attention_scratch(Int32(T), Int32(D)) }

/// Fused attention of one head: ctx_i = Σ_j softmax_j(scale·q_i·k_j) v_j for every query i, over T keys.
/// q, k, v and ctx are T rows of width D with row stride `stride` (a head's columns of an (N·T)×C matrix).
/// Sums run in another order than the BLAS path's and exp is a polynomial, so results differ in the last bits
/// (both are checked against a double-precision reference).
@inline(__always)
func fusedAttentionHead(
    q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, ctx: UnsafeMutablePointer<Float>,
    length T: Int, headDim D: Int, stride: Int, scale: Float, scratch: UnsafeMutablePointer<Float>,
    level: KernelLevel = KernelLevel.current
) {
    lk_attention_head(
        q, k, v, ctx, Int32(T), Int32(D), Int32(stride), scale, scratch, Int32(level.rawValue))
}
