import Foundation

/// One named parameter tensor: a view into a `ParameterStore`'s contiguous value and gradient storage.
/// The name and shape are those of the PyTorch `state_dict` entry, so checkpoints convert one-to-one.
public struct ParameterRef: Sendable {
    public let name: String
    public let shape: [Int]
    public let offset: Int
    public var count: Int { shape.reduce(1, *) }
}

/// How a parameter is initialised (PyTorch's defaults, so a fresh model starts like the authors').
public enum ParameterInit: Sendable {
    /// U(-1/√fanIn, 1/√fanIn): PyTorch's default for Linear/Conv weights (kaiming_uniform with a=√5) and biases.
    case uniformFanIn(Int)
    case constant(Float)
}

/// All parameters of a model in one contiguous float32 block, with a gradient block of the same layout
/// (llm.c style): the optimizer and the checkpoint code see one flat array. The blocks are 64-byte aligned and every
/// tensor starts at a multiple of 16 floats (a cache line), so rows of a weight whose width is a multiple of 16 never
/// straddle two lines (the SIMD kernels read them whole); the few floats between tensors stay zero, in the values
/// and in the gradients.
public final class ParameterStore {
    public private(set) var refs: [ParameterRef] = []
    private var inits: [ParameterInit] = []
    /// Floats in each block: the tensors and the padding between them.
    public private(set) var count = 0
    /// Floats of all tensors (the model's parameter count; `count` less the padding).
    public var parameterCount: Int { refs.reduce(0) { $0 + $1.count } }
    public private(set) var values: UnsafeMutablePointer<Float>
    public private(set) var grads: UnsafeMutablePointer<Float>
    private var finalized = false
    /// Non-zero inside `withWeightsFrozen` (a new number each scope): see `DerivedWeights`.
    nonisolated(unsafe) private(set) var frozenScope = 0
    nonisolated(unsafe) private static var scopes = 0

    /// Tensors start at multiples of this many floats.
    public static let alignment = 16

    public init() {
        values = Self.allocate(1)
        grads = Self.allocate(1)
    }

    private static func allocate(_ n: Int) -> UnsafeMutablePointer<Float> {
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: n * MemoryLayout<Float>.stride, alignment: alignment * MemoryLayout<Float>.stride)
        return raw.bindMemory(to: Float.self, capacity: n)
    }

    deinit {
        UnsafeMutableRawPointer(values).deallocate()
        UnsafeMutableRawPointer(grads).deallocate()
    }

    /// Declares a parameter; storage is laid out by `finalize`.
    public func declare(_ name: String, _ shape: [Int], _ initializer: ParameterInit) -> ParameterRef {
        precondition(!finalized, "parameters must be declared before finalize()")
        precondition(!refs.contains { $0.name == name }, "duplicate parameter \(name)")
        let offset = (count + Self.alignment - 1) / Self.alignment * Self.alignment
        let ref = ParameterRef(name: name, shape: shape, offset: offset)
        refs.append(ref)
        inits.append(initializer)
        count = offset + ref.count
        return ref
    }

    /// Allocates storage and initialises every parameter from `rng`, in declaration order.
    public func finalize(rng: inout Xoshiro256StarStar) {
        precondition(!finalized)
        UnsafeMutableRawPointer(values).deallocate()
        UnsafeMutableRawPointer(grads).deallocate()
        values = Self.allocate(max(count, 1))
        grads = Self.allocate(max(count, 1))
        values.initialize(repeating: 0, count: max(count, 1))
        grads.initialize(repeating: 0, count: max(count, 1))
        for (ref, ini) in zip(refs, inits) {
            let p = values + ref.offset
            switch ini {
            case .constant(let c):
                p.update(repeating: c, count: ref.count)
            case .uniformFanIn(let fanIn):
                let bound = 1.0 / Double(max(fanIn, 1)).squareRoot()
                for i in 0..<ref.count { p[i] = Float(rng.uniform(-bound, bound)) }
            }
        }
        finalized = true
    }

    /// Whether `freeze()` was called: the weights are fixed for the store's lifetime.
    public private(set) var isFrozen = false

    /// Promises that no weight changes from now on (a model loaded only to decode: an environment's, `generate`'s):
    /// one frozen scope for the store's lifetime, so a rearranged copy of the weights is checked once, at its first
    /// use, and kernels that need such a copy of a large weight (`Linear.sparseInput`) may use it. `Adam.update` and
    /// loading a checkpoint into a frozen store stop the program; writing through `value(_:)` afterwards is a misuse
    /// the layers do not see.
    public func freeze() {
        guard !isFrozen else { return }
        Self.scopes += 1
        frozenScope = Self.scopes
        isFrozen = true
    }

    /// Runs body promising that no weight changes until it returns (a decode call), so the kernels' rearranged
    /// copies of the weights are checked against the weights once in the scope instead of at every layer call.
    public func withWeightsFrozen<T>(_ body: () throws -> T) rethrows -> T {
        if frozenScope != 0 { return try body() }
        Self.scopes += 1
        frozenScope = Self.scopes
        defer { frozenScope = 0 }
        return try body()
    }

    @inline(__always) public func value(_ r: ParameterRef) -> UnsafeMutablePointer<Float> { values + r.offset }
    @inline(__always) public func grad(_ r: ParameterRef) -> UnsafeMutablePointer<Float> { grads + r.offset }

    public func zeroGrads() { grads.update(repeating: 0, count: count) }

    public func ref(named name: String) -> ParameterRef? { refs.first { $0.name == name } }

    /// Copies of every parameter, keyed by name.
    public func snapshot() -> [String: [Float]] {
        var out: [String: [Float]] = [:]
        for r in refs { out[r.name] = Array(UnsafeBufferPointer(start: value(r), count: r.count)) }
        return out
    }

    /// Global L2 norm of the gradient.
    public func gradNorm() -> Double {
        var s = 0.0
        for i in 0..<count {
            let g = Double(grads[i])
            s += g * g
        }
        return s.squareRoot()
    }
}

extension ParameterStore {
    /// Copies every tensor of `other` whose name and shape this store also has (fine-tuning across model variants);
    /// returns how many were copied and the names of this store's tensors that kept their fresh values.
    @discardableResult
    public func copyMatching(from other: ParameterStore) -> (copied: Int, fresh: [String]) {
        var copied = 0
        var fresh: [String] = []
        for ref in refs {
            if let src = other.refs.first(where: { $0.name == ref.name && $0.shape == ref.shape }) {
                (values + ref.offset).update(from: other.values + src.offset, count: ref.count)
                copied += 1
            } else {
                fresh.append(ref.name)
            }
        }
        return (copied, fresh)
    }
}
