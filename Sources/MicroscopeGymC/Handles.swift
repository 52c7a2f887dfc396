import Agents
import Foundation
import LeonardoSim
import MicroscopeGym

// The C ABI of MicroscopeGym (`libMicroscopeGymC.so`), for callers in other languages (the Python package in
// `python/`). Conventions, the same for every function (`microscope_gym.h` lists them with their C types):
// - Every function returns a status (`MGStatus`): 0 on success; otherwise `mg_last_error` holds a one-line message.
// - Environments are opaque 64-bit handles (never 0); an unknown or closed handle is an error, not a crash.
// - The caller owns every buffer: Swift only writes into buffers the caller passes and never hands memory over.
// - No input traps: arguments are checked before any Swift precondition could see them.
// - One handle is used by one thread at a time; different handles may be used from different threads. A call on a
//   handle while another thread's call on it is in flight is refused with status 5 (`busy`), never run concurrently.

/// Status codes of the C functions.
enum MGStatus: Int32 {
    case ok = 0
    /// A null pointer, a count out of range, an unknown handle, a buffer too small.
    case invalidArgument = 1
    /// The environment refused the call: an action outside the space, step before reset or after the episode ended.
    case environmentError = 2
    /// A spec or model could not be found or loaded, or is invalid.
    case specError = 3
    /// Anything else (a bug: please report the message).
    case internalError = 4
    /// The handle is in use by another thread's call: use one handle per thread (or serialise the calls).
    case busy = 5
}

/// What a handle refers to: one environment, or a vector of them with batched decoding.
final class HandleObject {
    enum Kind {
        case single(HoldLostFrames<LiquidCell>)
        case vector(LiquidCellVector)
    }
    var kind: Kind
    /// Observation keys in the order the caller's buffers come in (sorted), with their element counts.
    let keys: [String]
    let sizes: [Int]
    let observationSpace: DictSpace
    let frames: Int
    let actionCount: Int
    let cell: LiquidCell
    /// Whether a call on this handle is in flight (guarded by `environmentHandles`'s lock).
    var busy = false
    /// The episodes recorded since `mg_record_start` (single environments only).
    var recording: EpisodeRecording?

    /// With a belief, observations go through `FillLostFrames` instead of `HoldLostFrames`.
    let belief: SegmentBelief?

    /// One environment (`count` nil) or a vector of `count` copies with batched decoding; with `belief`, observations
    /// as `FillLostFrames` gives them.
    init(_ environment: LiquidCell, count: Int?, belief: SegmentBelief? = nil) throws {
        let wrapped = try HoldLostFrames(environment)
        kind = count.map { .vector(LiquidCellVector(environment, count: $0)) } ?? .single(wrapped)
        cell = environment
        self.belief = belief
        let space =
            try belief.map { try FillLostFrames(environment, belief: $0).observationSpace } ?? wrapped.observationSpace
        observationSpace = space
        frames = wrapped.frames
        keys = space.keys
        sizes = keys.map { space.spaces[$0]!.count }
        actionCount = environment.actionSpace.n
    }

    /// The observation the caller sees of a `HoldLostFrames` one: itself, or with a belief, `FillLostFrames`' of the
    /// segment as recorded (NaN where `tracked` is 0).
    func present(_ held: [String: [Float]]) -> [String: [Float]] {
        guard let belief else { return held }
        var raw = held
        raw["segment"] = rawSegment(held)["segment"]
        raw["tracked"] = nil
        return FillLostFrames<LiquidCell>.transform(raw, frames: frames, belief: belief)
    }

    var count: Int {
        switch kind {
        case .single: return 1
        case .vector(let v): return v.count
        }
    }
}

/// Errors raised inside the C layer; the message is what `mg_last_error` returns.
struct CallError: Error {
    let status: MGStatus
    let message: String
    init(_ status: MGStatus, _ message: String) {
        self.status = status
        self.message = message
    }
}

/// An object behind a handle, marked busy while a call on it is in flight.
protocol HandleTarget: AnyObject {
    var busy: Bool { get set }
}

extension HandleObject: HandleTarget {}

/// Live handles of one kind, guarded by a lock (handles are created and closed from any thread).
final class HandleTable<Object: HandleTarget>: @unchecked Sendable {
    private let lock = NSLock()
    private var objects: [Int64: Object] = [:]
    private var next: Int64
    /// "environment" or "policy", for the messages.
    let kind: String
    let advice: String

    init(kind: String, first: Int64, advice: String) {
        self.kind = kind
        self.advice = advice
        next = first
    }

    func insert(_ object: Object) -> Int64 {
        lock.lock()
        defer { lock.unlock() }
        let handle = next
        next += 1
        objects[handle] = object
        return handle
    }

    /// The handle's object, marked busy until `release`: a second thread's call on the same handle meanwhile is
    /// refused (status 5) instead of racing on its state. Every call pairs it with `defer { table.release(object) }`.
    /// A handle closed during the call is removed at once; its object lives until the call returns.
    func acquire(_ handle: Int64) throws -> Object {
        lock.lock()
        defer { lock.unlock() }
        guard let object = objects[handle] else { throw unknown(handle) }
        guard !object.busy else {
            throw CallError(.busy, "\(kind) handle \(handle) is in use by another thread's call: \(advice)")
        }
        object.busy = true
        return object
    }

    /// Ends the call that `acquire` began.
    func release(_ object: Object) {
        lock.lock()
        object.busy = false
        lock.unlock()
    }

    /// Refuses a handle that is not open.
    func requireOpen(_ handle: Int64) throws {
        lock.lock()
        defer { lock.unlock() }
        guard objects[handle] != nil else { throw unknown(handle) }
    }

    /// Closes `handle`; an unknown or closed one is refused (and harmless).
    func remove(_ handle: Int64) throws {
        lock.lock()
        defer { lock.unlock() }
        guard objects.removeValue(forKey: handle) != nil else { throw unknown(handle) }
    }

    private func unknown(_ handle: Int64) -> CallError {
        CallError(.invalidArgument, "unknown or closed \(kind) handle \(handle)")
    }
}

/// The environments' handles (from 1) and the policies' (from 2⁴⁰: a handle of one kind given to a function of the
/// other is refused as unknown).
let environmentHandles = HandleTable<HandleObject>(
    kind: "environment", first: 1, advice: "use one environment per thread")
let policyHandles = HandleTable<PolicyObject>(kind: "policy", first: 1 << 40, advice: "use one policy per thread")

/// The last error message of the calling thread.
enum LastError {
    static let key = "MicroscopeGymC.lastError"
    static var message: String {
        get { Thread.current.threadDictionary[key] as? String ?? "" }
        set { Thread.current.threadDictionary[key] = newValue }
    }
}

/// Runs `body`, turning every thrown error into a status and the thread's last error message.
func call(_ body: () throws -> Void) -> Int32 {
    do {
        try body()
        LastError.message = ""
        return MGStatus.ok.rawValue
    } catch let error as CallError {
        LastError.message = error.message
        return error.status.rawValue
    } catch let error as EnvironmentError {
        LastError.message = error.description
        switch error {
        case .actionOutsideSpace, .stepAfterEpisodeEnd, .stepBeforeReset: return MGStatus.environmentError.rawValue
        case .invalidResetOption: return MGStatus.invalidArgument.rawValue
        case .invalidSpec, .unknownEnvironment, .invalidArgument: return MGStatus.specError.rawValue
        case .incompatibleSpaces, .checkFailed: return MGStatus.internalError.rawValue
        }
    } catch let error as StateError {
        LastError.message = error.description
        return MGStatus.invalidArgument.rawValue
    } catch {
        LastError.message = "\(error)"
        return MGStatus.specError.rawValue
    }
}

/// A C string argument, or an error naming it when null or not UTF-8.
func string(_ pointer: UnsafePointer<CChar>?, _ name: String) throws -> String {
    guard let pointer else { throw CallError(.invalidArgument, "\(name) is a null pointer") }
    guard let s = String(validatingCString: pointer) else { throw CallError(.invalidArgument, "\(name) is not UTF-8") }
    return s
}

/// A required output pointer, or an error naming it when null.
func required<T>(_ pointer: UnsafeMutablePointer<T>?, _ name: String) throws -> UnsafeMutablePointer<T> {
    guard let pointer else { throw CallError(.invalidArgument, "\(name) is a null pointer") }
    return pointer
}

/// Copies `text` with a terminating NUL into `buffer` of `capacity` bytes; fails naming the size needed.
func copy(_ text: String, into buffer: UnsafeMutablePointer<CChar>?, capacity: Int) throws {
    let bytes = Array(text.utf8)
    guard let buffer else { throw CallError(.invalidArgument, "the text buffer is a null pointer") }
    guard capacity > bytes.count else {
        throw CallError(.invalidArgument, "the text buffer holds \(capacity) bytes; \(bytes.count + 1) are needed")
    }
    for (i, b) in bytes.enumerated() { buffer[i] = CChar(bitPattern: b) }
    buffer[bytes.count] = 0
}
