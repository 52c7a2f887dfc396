import Foundation
import LeonardoSim

/// Everything of a `LiquidCell` that changes during an episode: the generator, the hidden latent and particle state,
/// the settings, the dose and damage accounts and the episode counters. An environment restored from it continues
/// exactly as the original would (same draws, same observations, bit for bit). The spec and the model are not part
/// of it: a state is restored into an environment made from the same spec (`specFingerprint` guards this).
///
/// Planning agents use it as the Arcade Learning Environment's `cloneState`/`restoreState`; the C library and the
/// Python package serialise it (`encoded()`, `init(decoding:)`) for `copy.deepcopy` and `pickle`.
public struct LiquidCellState: Equatable, Sendable {
    /// The xoshiro256** words and the spare normal of its Box–Muller pair.
    public var generator: Xoshiro256StarStar
    /// 0: needs a reset, 1: running, 2: ended.
    public var phase: Int
    public var latent: [Double]
    public var logEffectiveDoseRate: Double
    public var particleScale: Double
    public var criticalDose: Double
    public var contrast: Double
    public var position: [Double]
    public var doseRate: Double
    public var frameRate: Double
    public var cumulativeDose: Double
    public var effectiveDose: Double
    public var damage: Double
    public var elapsedTime: Double
    public var stepCount: Int
    public var lastTrueSegment: [Double]
    /// `LiquidCell.specFingerprint` of the environment the state was taken from.
    public var specFingerprint: UInt64

    /// Format tag and version of `encoded()`.
    static let magic: UInt64 = 0x4D47_5354_0000_0001  // "MGST", version 1
}

/// Errors of restoring a state; the message says what does not match.
public struct StateError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension LiquidCell {
    /// A 64-bit FNV-1a hash of the spec's JSON (sorted keys, without the file it was read from): two environments
    /// made from equal specs have the same fingerprint.
    public var specFingerprint: UInt64 {
        var spec = self.spec
        spec.sourceFile = nil
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let bytes = (try? encoder.encode(spec)) ?? Data(spec.id.utf8)
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes {
            hash ^= UInt64(b)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }

    /// The episode's state (see `LiquidCellState`).
    public var state: LiquidCellState {
        LiquidCellState(
            generator: rng, phase: phase == .needsReset ? 0 : phase == .running ? 1 : 2, latent: z,
            logEffectiveDoseRate: logEffectiveDoseRate, particleScale: particleScale, criticalDose: criticalDose,
            contrast: contrast, position: [position.0, position.1], doseRate: doseRate, frameRate: frameRate,
            cumulativeDose: cumulativeDose, effectiveDose: effectiveDose, damage: damage, elapsedTime: elapsedTime,
            stepCount: stepCount, lastTrueSegment: lastTrueSegment, specFingerprint: specFingerprint)
    }

    /// Continues from `state`, taken from an environment of the same spec; throws (changing nothing) when the state
    /// belongs to another spec or is inconsistent with this environment.
    public mutating func restore(_ state: LiquidCellState) throws {
        guard state.specFingerprint == specFingerprint else {
            throw StateError("the state belongs to another environment spec than \(spec.id)'s")
        }
        guard state.latent.count == z.count, state.position.count == 2, (0...2).contains(state.phase),
            state.stepCount >= 0, state.lastTrueSegment.isEmpty || state.lastTrueSegment.count == 2 * spec.segmentFrames
        else { throw StateError("the state does not fit \(spec.id) (latent, position or segment sizes)") }
        rng = state.generator
        phase = state.phase == 0 ? .needsReset : state.phase == 1 ? .running : .ended
        z = state.latent
        logEffectiveDoseRate = state.logEffectiveDoseRate
        particleScale = state.particleScale
        criticalDose = state.criticalDose
        contrast = state.contrast
        position = (state.position[0], state.position[1])
        doseRate = state.doseRate
        frameRate = state.frameRate
        cumulativeDose = state.cumulativeDose
        effectiveDose = state.effectiveDose
        damage = state.damage
        elapsedTime = state.elapsedTime
        stepCount = state.stepCount
        lastTrueSegment = state.lastTrueSegment
    }
}

/// The byte layout of saved states: 64-bit words, little-endian (`LiquidCellState.encoded()` and the C library's
/// state of a handle).
public enum LittleEndianWords {
    /// `words` as 8 bytes each, least significant first.
    public static func bytes(_ words: [UInt64]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(words.count * 8)
        for w in words { withUnsafeBytes(of: w.littleEndian) { out += $0 } }
        return out
    }

    /// Word `i` of `bytes` (which must hold at least 8 · (i + 1) bytes from its start).
    public static func word<Bytes: RandomAccessCollection>(_ bytes: Bytes, at i: Int) -> UInt64
    where Bytes.Element == UInt8, Bytes.Index == Int {
        var w: UInt64 = 0
        for b in 0..<8 { w |= UInt64(bytes[bytes.startIndex + 8 * i + b]) << (8 * UInt64(b)) }
        return w
    }
}

extension LiquidCellState {
    /// The state as bytes: little-endian 64-bit words (doubles by their bit patterns, so the round trip is exact).
    public func encoded() -> [UInt8] {
        var words: [UInt64] = [LiquidCellState.magic, specFingerprint]
        words += generator.stateWords
        words.append(generator.spareNormal == nil ? 0 : 1)
        words.append((generator.spareNormal ?? 0).bitPattern)
        words += [UInt64(phase), UInt64(stepCount)]
        for v in [
            logEffectiveDoseRate, particleScale, criticalDose, contrast, doseRate, frameRate, cumulativeDose,
            effectiveDose, damage, elapsedTime
        ] { words.append(v.bitPattern) }
        for array in [latent, position, lastTrueSegment] {
            words.append(UInt64(array.count))
            words += array.map(\.bitPattern)
        }
        return LittleEndianWords.bytes(words)
    }

    /// Reads `encoded()`'s bytes; throws naming the problem on anything else (truncated, wrong tag, sizes).
    public init<Bytes: Collection>(decoding bytes: Bytes) throws where Bytes.Element == UInt8 {
        let raw = Array(bytes)
        guard raw.count % 8 == 0, raw.count >= 8 * 23 else {
            throw StateError(
                "a LiquidCell state is a whole number of 64-bit words, at least 23; got \(raw.count) bytes")
        }
        let words = (0..<(raw.count / 8)).map { LittleEndianWords.word(raw, at: $0) }
        guard words[0] == LiquidCellState.magic else {
            throw StateError("not a LiquidCell state (format tag \(String(words[0], radix: 16)))")
        }
        var at = 1
        func next() -> UInt64 {
            defer { at += 1 }
            return words[at]
        }
        func double() -> Double { Double(bitPattern: next()) }
        let fingerprint = next()
        let generatorWords = [next(), next(), next(), next()]
        let hasSpare = next()
        let spare = double()
        let phaseWord = next()
        let steps = next()
        let scalars = (0..<10).map { _ in double() }
        var arrays: [[Double]] = []
        for name in ["latent", "position", "segment"] {
            guard at < words.count else { throw StateError("the state ends before its \(name)") }
            let n = next()
            guard n <= UInt64(words.count - at) else { throw StateError("the state's \(name) is truncated") }
            arrays.append((0..<Int(n)).map { _ in double() })
        }
        guard at == words.count else { throw StateError("the state has \(words.count - at) words after its end") }
        guard phaseWord <= 2, steps <= UInt64(Int.max), hasSpare <= 1 else {
            throw StateError("the state's phase, step count or generator flag is out of range")
        }
        self.init(
            generator: Xoshiro256StarStar(state: generatorWords, spareNormal: hasSpare == 1 ? spare : nil),
            phase: Int(phaseWord), latent: arrays[0], logEffectiveDoseRate: scalars[0], particleScale: scalars[1],
            criticalDose: scalars[2], contrast: scalars[3], position: arrays[1], doseRate: scalars[4],
            frameRate: scalars[5], cumulativeDose: scalars[6], effectiveDose: scalars[7], damage: scalars[8],
            elapsedTime: scalars[9], stepCount: Int(steps), lastTrueSegment: arrays[2], specFingerprint: fingerprint)
    }
}

extension LiquidCellVector {
    /// The states of every copy, in order.
    public var states: [LiquidCellState] { environments.map(\.state) }

    /// Continues every copy from `states` (one per copy); throws, changing nothing, on a mismatch.
    public mutating func restore(_ states: [LiquidCellState]) throws {
        guard states.count == count else {
            throw StateError("the state holds \(states.count) copies; this vector has \(count)")
        }
        var restored = environments
        for i in 0..<count { try restored[i].restore(states[i]) }
        environments = restored
    }
}
