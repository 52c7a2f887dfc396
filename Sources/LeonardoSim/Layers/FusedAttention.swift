import Foundation
import LeonardoKernels

/// Which implementation decoder inference uses; training always keeps the readable BLAS path (its backward pass
/// reads the stored softmax probabilities). A model's choice (`Leonardo.kernels`, a `KernelChoice`), passed down to
/// every layer as its `ForwardMode`; a new model takes the process's default, `MICROSCOPEGYM_KERNELS=simd` (the
/// default) or `=blas` (the reference, and the arithmetic of the results in docs/ that say so).
/// `gym-runner perf bench` measures both.
public enum InferenceKernels: String, Sendable, CaseIterable {
    /// Every matrix product by `cblas_sgemm`; attention per head as scores, softmax rows, product with V (the
    /// readable reference).
    case blas
    /// Hand-written kernels where OpenBLAS's shapes are poor (Sources/LeonardoKernels, AVX-512F or AVX2+FMA picked
    /// by the CPU at run time): fused attention (scores, softmax and the weighted sum of V per tile of six queries,
    /// in cache) and the dense layers on small batches (each weight row read once, never packed).
    case simd

    /// The process's default: `MICROSCOPEGYM_KERNELS`, read once (simd when unset).
    public static let processDefault: InferenceKernels = {
        guard let value = ProcessInfo.processInfo.environment["MICROSCOPEGYM_KERNELS"] else { return .simd }
        guard let kernels = InferenceKernels(rawValue: value) else {
            warnEnvironment("MICROSCOPEGYM_KERNELS=\(value) is neither blas nor simd; using simd")
            return .simd
        }
        return kernels
    }()

    /// Batches up to this many rows (`Leonardo.decodeChunk`'s default) take the few-rows kernel for the large dense
    /// layers under `.simd`.
    public static let fewRows = 32
    /// The largest weight (in·out entries, 1 MiB of float32) that `Linear.forwardRows` takes, at any row count: it
    /// keeps a transposed copy and compares the weight with its snapshot once per decode call. Larger ones (the
    /// decoder's 1024→6400 bottleneck) take the few-rows kernel, or `cblas_sgemm` above `fewRows` rows.
    public static let rowsKernelWeights = 1 << 18
}

/// Instruction sets of the hand-written kernels, best first; the CPU's best one is used unless
/// `MICROSCOPEGYM_KERNEL_LEVEL` (0, 1 or 2) or a model's `KernelChoice` asks for a lower one.
public enum KernelLevel: Int, Sendable, CaseIterable, Comparable {
    /// Plain C loops (the kernels' own reference).
    case portable = 0
    /// 8-lane AVX2 with fused multiply-add.
    case avx2 = 1
    /// 16-lane AVX-512F.
    case avx512 = 2

    /// The highest level this CPU runs.
    public static let best = KernelLevel(rawValue: Int(lk_best_level())) ?? .portable

    /// The process's default: `MICROSCOPEGYM_KERNEL_LEVEL`, read once (the CPU's best when unset).
    public static let processDefault: KernelLevel = {
        guard let s = ProcessInfo.processInfo.environment["MICROSCOPEGYM_KERNEL_LEVEL"] else { return best }
        guard let n = Int(s), let level = KernelLevel(rawValue: n) else {
            warnEnvironment("MICROSCOPEGYM_KERNEL_LEVEL=\(s) is not 0, 1 or 2; using \(best.rawValue) (\(best.name))")
            return best
        }
        if level > best {
            warnEnvironment(
                "MICROSCOPEGYM_KERNEL_LEVEL=\(n): this CPU runs at most \(best.rawValue) (\(best.name)); using that")
        }
        return min(level, best)
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

/// The arithmetic of a model's inference: which implementation, and the SIMD level of the hand-written kernels.
/// Results are bit-identical only under the same choice (and, on the BLAS side, the same OpenBLAS kernel).
public struct KernelChoice: Sendable, Equatable, CustomStringConvertible {
    public var path: InferenceKernels
    public var level: KernelLevel

    public init(_ path: InferenceKernels, level: KernelLevel = .processDefault) {
        self.path = path
        self.level = min(level, .best)
    }

    /// The process's default (`MICROSCOPEGYM_KERNELS`, `MICROSCOPEGYM_KERNEL_LEVEL`).
    public static let processDefault = KernelChoice(.processDefault)
    /// The readable reference: every product by `cblas_sgemm`.
    public static let blas = KernelChoice(.blas)
    /// The hand-written kernels at the CPU's best level.
    public static let simd = KernelChoice(.simd, level: .best)

    /// "simd (AVX-512F)" or "blas".
    public var description: String { path == .simd ? "simd (\(level.name))" : path.rawValue }
}

/// How a layer runs its forward pass: for training (keeping what `backward` reads) or for inference (nothing kept),
/// each under a kernel choice. Every layer and block has one forward that takes it. Training under `.blas` is the
/// readable reference (every product by `cblas_sgemm`); under `.simd` the layers that have hand-written training
/// kernels use them (the attention core forward and backward at AVX-512F, the dense layers' forward products) and
/// the rest stays on the reference path, so gradients agree with the reference within float rounding.
public enum ForwardMode: Sendable, Equatable {
    case training(KernelChoice)
    case inference(KernelChoice)

    /// The SIMD level when this is inference on the hand-written kernels, else nil.
    public var simdLevel: KernelLevel? {
        if case .inference(let k) = self, k.path == .simd { return k.level }
        return nil
    }

    /// True for a training forward pass (whatever its kernels).
    public var isTraining: Bool {
        if case .training = self { return true }
        return false
    }

    /// The SIMD level when this is training on the hand-written kernels, else nil.
    public var trainingSIMDLevel: KernelLevel? {
        if case .training(let k) = self, k.path == .simd { return k.level }
        return nil
    }
}

/// One line on standard error about a misspelt or impossible environment setting.
func warnEnvironment(_ message: String) {
    FileHandle.standardError.write(Data(("warning: " + message + "\n").utf8))
}

/// Floats of scratch `fusedAttentionHead` needs for one head of `length` keys and width `headDim`.
func fusedAttentionScratch(length T: Int, headDim D: Int) -> Int { lk_attention_scratch(Int32(T), Int32(D)) }

/// Fused attention of one head: ctx_i = Σ_j softmax_j(scale·q_i·k_j) v_j for every query i, over T keys.
/// q, k and v are T rows of width D with row stride `stride` (a head's columns of the projections), ctx T rows
/// `ctxStride` apart (`stride` when nil). Sums run in another order than the BLAS path's and exp is a polynomial,
/// so results differ in the last bits (both are checked against a double-precision reference).
@inline(__always)
func fusedAttentionHead(
    q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, ctx: UnsafeMutablePointer<Float>,
    length T: Int, headDim D: Int, stride: Int, ctxStride: Int? = nil, scale: Float,
    scratch: UnsafeMutablePointer<Float>, level: KernelLevel
) {
    lk_attention_head(
        q, k, v, Int32(stride), ctx, Int32(ctxStride ?? stride), Int32(T), Int32(D), scale, scratch,
        Int32(level.rawValue))
}
