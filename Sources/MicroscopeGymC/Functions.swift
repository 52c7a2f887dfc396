import Agents
import Foundation
import LeonardoSim
import MicroscopeGym

// The exported functions. Names, arguments and status codes are listed with their C types in `microscope_gym.h`.

/// Version of this ABI (bumped when a signature changes).
@c(mg_abi_version)
public func mg_abi_version() -> Int32 { 4 }

/// Copies the calling thread's last error message into `buffer` (NUL-terminated, truncated to `capacity`) and
/// returns its full length in bytes (without the NUL).
@c(mg_last_error)
public func mg_last_error(_ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int) -> Int {
    let bytes = Array(LastError.message.utf8)
    if let buffer, capacity > 0 {
        let n = min(bytes.count, capacity - 1)
        for i in 0..<n { buffer[i] = CChar(bitPattern: bytes[i]) }
        buffer[n] = 0
    }
    return bytes.count
}

/// The registered IDs of `directory` (null: the package's `Environments/`), one per line, into `buffer`.
@c(mg_registry_ids)
public func mg_registry_ids(
    _ directory: UnsafePointer<CChar>?, _ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int
) -> Int32 {
    call {
        let folder = try directory.map { try string($0, "directory") }
        try copy(EnvironmentRegistry.checkedIDs(in: folder).joined(separator: "\n"), into: buffer, capacity: capacity)
    }
}

/// Loads the environment `id` of `directory` (null: the package's `Environments/`), or the spec file `specFile`
/// when `id` is null, as `count` copies (0: one environment; 1 … 4096: a vector with batched decoding).
@c(mg_make)
public func mg_make(
    _ directory: UnsafePointer<CChar>?, _ id: UnsafePointer<CChar>?, _ specFile: UnsafePointer<CChar>?, _ count: Int32,
    _ handle: UnsafeMutablePointer<Int64>?
) -> Int32 {
    mg_make_with(directory, id, specFile, count, 0, handle)
}

/// Flags of `mg_make_with`.
enum MakeFlags {
    /// Observations through `FillLostFrames` (lost frames filled, `uncertainty` and `belief` added) instead of
    /// `HoldLostFrames`.
    static let fillLostFrames: Int32 = 1
}

/// `mg_make` with `flags` (bit 0, `MG_FILL_LOST_FRAMES`: observations through `FillLostFrames`, its fill prior read
/// from `directory`'s `models/`).
@c(mg_make_with)
public func mg_make_with(
    _ directory: UnsafePointer<CChar>?, _ id: UnsafePointer<CChar>?, _ specFile: UnsafePointer<CChar>?, _ count: Int32,
    _ flags: Int32, _ handle: UnsafeMutablePointer<Int64>?
) -> Int32 {
    call {
        let out = try required(handle, "handle")
        guard count >= 0 && count <= 4096 else {
            throw CallError(.invalidArgument, "count must lie in 0 … 4096 (0: one environment), got \(count)")
        }
        guard flags & ~MakeFlags.fillLostFrames == 0 else {
            throw CallError(.invalidArgument, "flags: unknown bits in \(flags) (known: 1, fill lost frames)")
        }
        let spec: LiquidCellSpec
        if let id {
            spec = try EnvironmentRegistry.spec(
                id: try string(id, "id"), in: try directory.map { try string($0, "directory") })
        } else {
            spec = try LiquidCellSpec.load(try string(specFile, "specFile (id is null)"))
        }
        let environment = try LiquidCell(spec: spec)
        var belief: SegmentBelief? = nil
        if flags & MakeFlags.fillLostFrames != 0 {
            let folder = try directory.map { try string($0, "directory") } ?? EnvironmentRegistry.directory
            belief = try SegmentBelief(cell: environment, priorPath: SegmentBelief.priorPath(inEnvironments: folder))
        }
        let object = try HandleObject(environment, count: count == 0 ? nil : Int(count), belief: belief)
        out.pointee = environmentHandles.insert(object)
    }
}

/// Closes a handle; closing an unknown or already closed handle is an error (status 1) and harmless.
@c(mg_close)
public func mg_close(_ handle: Int64) -> Int32 {
    call {
        try environmentHandles.remove(handle)
    }
}

/// Sizes of a handle: number of copies (1 for a single environment), observation keys, actions, info keys and
/// frames per segment. Null pointers are skipped.
@c(mg_sizes)
public func mg_sizes(
    _ handle: Int64, _ copies: UnsafeMutablePointer<Int64>?, _ observationKeys: UnsafeMutablePointer<Int64>?,
    _ actions: UnsafeMutablePointer<Int64>?, _ infoKeys: UnsafeMutablePointer<Int64>?,
    _ frames: UnsafeMutablePointer<Int64>?
) -> Int32 {
    call {
        let object = try environmentHandles.acquire(handle)
        defer { environmentHandles.release(object) }
        copies?.pointee = Int64(object.count)
        observationKeys?.pointee = Int64(object.keys.count)
        actions?.pointee = Int64(object.actionCount)
        infoKeys?.pointee = Int64(LiquidCell.infoKeys.count)
        frames?.pointee = Int64(object.frames)
    }
}

/// Observation key `index` (sorted order): its name, its shape (up to 4 dimensions, `rank` set) and its bounds
/// (`low` and `high` each hold the key's element count; null to skip).
@c(mg_observation_key)
public func mg_observation_key(
    _ handle: Int64, _ index: Int64, _ name: UnsafeMutablePointer<CChar>?, _ capacity: Int,
    _ shape: UnsafeMutablePointer<Int64>?, _ rank: UnsafeMutablePointer<Int64>?, _ low: UnsafeMutablePointer<Float>?,
    _ high: UnsafeMutablePointer<Float>?
) -> Int32 {
    call {
        let object = try environmentHandles.acquire(handle)
        defer { environmentHandles.release(object) }
        guard index >= 0 && index < object.keys.count else {
            throw CallError(.invalidArgument, "observation key index \(index) outside 0 ..< \(object.keys.count)")
        }
        let key = object.keys[Int(index)]
        let box = object.observationSpace.spaces[key]!
        try copy(key, into: name, capacity: capacity)
        if let shape {
            for (i, d) in box.shape.prefix(4).enumerated() { shape[i] = Int64(d) }
        }
        rank?.pointee = Int64(box.shape.count)
        if let low { for i in 0..<box.count { low[i] = box.low[i] } }
        if let high { for i in 0..<box.count { high[i] = box.high[i] } }
    }
}

/// Info key `index` (the order of the caller's info buffers; `LiquidCell.infoKeys`).
@c(mg_info_key)
public func mg_info_key(
    _ handle: Int64, _ index: Int64, _ name: UnsafeMutablePointer<CChar>?, _ capacity: Int
) -> Int32 {
    call {
        try environmentHandles.requireOpen(handle)
        guard index >= 0 && index < LiquidCell.infoKeys.count else {
            throw CallError(.invalidArgument, "info key index \(index) outside 0 ..< \(LiquidCell.infoKeys.count)")
        }
        try copy(LiquidCell.infoKeys[Int(index)], into: name, capacity: capacity)
    }
}

/// The dose rate (e⁻/Å²/s) and frame rate (frames/s) of discrete action `action`.
@c(mg_action_setting)
public func mg_action_setting(
    _ handle: Int64, _ action: Int64, _ doseRate: UnsafeMutablePointer<Double>?,
    _ frameRate: UnsafeMutablePointer<Double>?
) -> Int32 {
    call {
        let object = try environmentHandles.acquire(handle)
        defer { environmentHandles.release(object) }
        guard action >= 0 && action < object.actionCount else {
            throw EnvironmentError.actionOutsideSpace("\(action) is not in Discrete(\(object.actionCount))")
        }
        let (d, f) = object.cell.setting(for: Int(action))
        try required(doseRate, "doseRate").pointee = d
        try required(frameRate, "frameRate").pointee = f
    }
}

/// The spec's ID and description, as "ID\ndescription", into `buffer`.
@c(mg_describe)
public func mg_describe(_ handle: Int64, _ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int) -> Int32 {
    call {
        let object = try environmentHandles.acquire(handle)
        defer { environmentHandles.release(object) }
        try copy(object.cell.spec.id + "\n" + object.cell.spec.description, into: buffer, capacity: capacity)
    }
}

/// Resets. `hasSeed` 0: continue the current generator. Options are `optionCount` (key, value) pairs
/// (`dose_rate`, `frame_rate`; single environments only). `observations` holds one pointer per observation key, each
/// to copies × the key's element count floats; `info` holds copies × info-key-count doubles.
@c(mg_reset)
public func mg_reset(
    _ handle: Int64, _ hasSeed: Int32, _ seed: UInt64, _ optionKeys: UnsafePointer<UnsafePointer<CChar>?>?,
    _ optionValues: UnsafePointer<Double>?, _ optionCount: Int32,
    _ observations: UnsafePointer<UnsafeMutablePointer<Float>?>?, _ info: UnsafeMutablePointer<Double>?
) -> Int32 {
    call {
        let object = try environmentHandles.acquire(handle)
        defer { environmentHandles.release(object) }
        let buffers = try observationBuffers(observations, object)
        let infoOut = try required(info, "info")
        guard optionCount >= 0 && optionCount <= 16 else {
            throw CallError(.invalidArgument, "optionCount must lie in 0 … 16, got \(optionCount)")
        }
        var options: [String: Double] = [:]
        if optionCount > 0 {
            guard let optionKeys, let optionValues else {
                throw CallError(.invalidArgument, "optionKeys or optionValues is a null pointer")
            }
            for i in 0..<Int(optionCount) { options[try string(optionKeys[i], "optionKeys[\(i)]")] = optionValues[i] }
        }
        let s = hasSeed != 0 ? seed : nil
        switch object.kind {
        case .single(var env):
            let (o, i) = try env.reset(seed: s, options: options)
            object.kind = .single(env)
            object.recording?.beginEpisode(seed: s ?? UInt64.max, environment: env.base, observation: rawSegment(o))
            write(o, at: 0, to: buffers, object)
            write(i, at: 0, to: infoOut)
        case .vector(var vector):
            guard options.isEmpty else {
                throw CallError(.invalidArgument, "reset options apply to single environments only")
            }
            if let s, s > UInt64.max - UInt64(vector.count - 1) {
                throw CallError(
                    .invalidArgument,
                    "seed \(s): copy i of a vector is seeded with seed + i, so the seed of \(vector.count) copies must be ≤ 2^64 − \(vector.count)"
                )
            }
            let (os, infos) = try vector.resetWithInfos(seed: s)
            object.kind = .vector(vector)
            for j in 0..<os.count {
                write(HoldLostFrames<LiquidCell>.transform(os[j], frames: object.frames), at: j, to: buffers, object)
                write(infos[j], at: j, to: infoOut)
            }
        }
    }
}

/// Steps a single environment with discrete action `action`.
@c(mg_step)
public func mg_step(
    _ handle: Int64, _ action: Int64, _ observations: UnsafePointer<UnsafeMutablePointer<Float>?>?,
    _ reward: UnsafeMutablePointer<Double>?, _ terminated: UnsafeMutablePointer<UInt8>?,
    _ truncated: UnsafeMutablePointer<UInt8>?, _ info: UnsafeMutablePointer<Double>?
) -> Int32 {
    call {
        let object = try environmentHandles.acquire(handle)
        defer { environmentHandles.release(object) }
        guard case .single(var env) = object.kind else {
            throw CallError(.invalidArgument, "mg_step needs a single environment; use mg_vector_step for a vector")
        }
        let buffers = try observationBuffers(observations, object)
        let (rewardOut, termOut, truncOut, infoOut) = (
            try required(reward, "reward"), try required(terminated, "terminated"),
            try required(truncated, "truncated"), try required(info, "info")
        )
        guard action >= 0 && action < object.actionCount else {
            throw EnvironmentError.actionOutsideSpace("\(action) is not in Discrete(\(object.actionCount))")
        }
        let s = try env.step(Int(action))
        object.kind = .single(env)
        if object.recording != nil {
            let raw = Step(
                observation: rawSegment(s.observation), reward: s.reward, terminated: s.terminated,
                truncated: s.truncated, info: s.info)
            object.recording!.add(raw, action: Int(action), environment: env.base)
        }
        write(s.observation, at: 0, to: buffers, object)
        rewardOut.pointee = s.reward
        termOut.pointee = s.terminated ? 1 : 0
        truncOut.pointee = s.truncated ? 1 : 0
        write(s.info, at: 0, to: infoOut)
    }
}

/// Steps a vector with one action per copy and same-step autoreset: where a copy's episode ended, `observations`
/// and `info` hold the next episode's reset, `finalObservations` and `finalInfo` the ended episode's last step, and
/// `ended` is 1 (each final buffer is laid out as its ordinary counterpart; rows of copies that did not end are left
/// as they were).
@c(mg_vector_step)
public func mg_vector_step(
    _ handle: Int64, _ actions: UnsafePointer<Int64>?, _ observations: UnsafePointer<UnsafeMutablePointer<Float>?>?,
    _ rewards: UnsafeMutablePointer<Double>?, _ terminated: UnsafeMutablePointer<UInt8>?,
    _ truncated: UnsafeMutablePointer<UInt8>?, _ info: UnsafeMutablePointer<Double>?,
    _ finalObservations: UnsafePointer<UnsafeMutablePointer<Float>?>?, _ finalInfo: UnsafeMutablePointer<Double>?,
    _ ended: UnsafeMutablePointer<UInt8>?
) -> Int32 {
    call {
        let object = try environmentHandles.acquire(handle)
        defer { environmentHandles.release(object) }
        guard case .vector(var vector) = object.kind else {
            throw CallError(.invalidArgument, "mg_vector_step needs a vector; use mg_step for a single environment")
        }
        guard let actions else { throw CallError(.invalidArgument, "actions is a null pointer") }
        let buffers = try observationBuffers(observations, object)
        let finals = try observationBuffers(finalObservations, object)
        let (rewardOut, termOut, truncOut) = (
            try required(rewards, "rewards"), try required(terminated, "terminated"),
            try required(truncated, "truncated")
        )
        let (infoOut, finalInfoOut, endedOut) = (
            try required(info, "info"), try required(finalInfo, "finalInfo"), try required(ended, "ended")
        )
        let chosen = (0..<vector.count).map { Int(actions[$0]) }
        for (i, a) in chosen.enumerated() where a < 0 || a >= object.actionCount {
            throw EnvironmentError.actionOutsideSpace("copy \(i): \(a) is not in Discrete(\(object.actionCount))")
        }
        let s = try vector.step(chosen)
        object.kind = .vector(vector)
        for j in 0..<vector.count {
            write(
                HoldLostFrames<LiquidCell>.transform(s.observations[j], frames: object.frames), at: j, to: buffers,
                object)
            rewardOut[j] = s.rewards[j]
            termOut[j] = s.terminated[j] ? 1 : 0
            truncOut[j] = s.truncated[j] ? 1 : 0
            endedOut[j] = s.finalObservations[j] == nil ? 0 : 1
            if let final = s.finalObservations[j] {
                write(HoldLostFrames<LiquidCell>.transform(final, frames: object.frames), at: j, to: finals, object)
                write(s.infos[j], at: j, to: finalInfoOut)
                write(s.resetInfos[j] ?? [:], at: j, to: infoOut)
            } else {
                write(s.infos[j], at: j, to: infoOut)
            }
        }
    }
}

// MARK: State snapshots

/// Tag and version of a handle's state bytes ("MGHS", version 1): a word count of copies, then each copy's
/// `LiquidCellState.encoded()` after its byte count.
let handleStateMagic: UInt64 = 0x4D47_4853_0000_0001

/// The state bytes of every copy of a handle.
func stateBytes(_ object: HandleObject) -> [UInt8] {
    let states: [LiquidCellState]
    switch object.kind {
    case .single(let env): states = [env.base.state]
    case .vector(let vector): states = vector.states
    }
    var words: [UInt64] = [handleStateMagic, UInt64(states.count)]
    var body: [UInt8] = []
    for state in states {
        let bytes = state.encoded()
        words.append(UInt64(bytes.count))
        body += bytes
    }
    return LittleEndianWords.bytes(words) + body
}

/// Writes the handle's state (every copy of a vector: generator, latent and particle state, settings, dose and
/// damage, episode counters) into `buffer` and its length into `size`. With a null `buffer` only `size` is set; a
/// `capacity` below the size is an error naming the size needed.
@c(mg_get_state)
public func mg_get_state(
    _ handle: Int64, _ buffer: UnsafeMutablePointer<UInt8>?, _ capacity: Int, _ size: UnsafeMutablePointer<Int>?
) -> Int32 {
    call {
        let object = try environmentHandles.acquire(handle)
        defer { environmentHandles.release(object) }
        let out = try required(size, "size")
        let bytes = stateBytes(object)
        out.pointee = bytes.count
        guard let buffer else { return }
        guard capacity >= bytes.count else {
            throw CallError(.invalidArgument, "the state buffer holds \(capacity) bytes; \(bytes.count) are needed")
        }
        for (i, b) in bytes.enumerated() { buffer[i] = b }
    }
}

/// Continues the handle from state bytes written by `mg_get_state` for an environment of the same spec and copy
/// count (in this process or another); on any mismatch nothing changes and the error names it.
@c(mg_set_state)
public func mg_set_state(_ handle: Int64, _ buffer: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    call {
        let object = try environmentHandles.acquire(handle)
        defer { environmentHandles.release(object) }
        guard let buffer else { throw CallError(.invalidArgument, "the state buffer is a null pointer") }
        guard size >= 16 && size <= 1 << 30 else {
            throw CallError(.invalidArgument, "a state is 16 bytes … 1 GiB long, got \(size)")
        }
        let bytes = UnsafeBufferPointer(start: buffer, count: size)
        func word(_ i: Int) -> UInt64 { LittleEndianWords.word(bytes, at: i) }
        guard word(0) == handleStateMagic else {
            throw CallError(.invalidArgument, "not a MicroscopeGym state (wrong format tag or version)")
        }
        let copies = word(1)
        guard copies == UInt64(object.count) else {
            throw CallError(.invalidArgument, "the state holds \(copies) copies; this handle has \(object.count)")
        }
        let n = Int(copies)
        guard size >= 8 * (2 + n) else { throw CallError(.invalidArgument, "the state is truncated") }
        var offset = 8 * (2 + n)
        var states: [LiquidCellState] = []
        for i in 0..<n {
            let length = word(2 + i)
            guard length <= UInt64(size - offset) else { throw CallError(.invalidArgument, "the state is truncated") }
            states.append(try LiquidCellState(decoding: bytes[offset..<offset + Int(length)]))
            offset += Int(length)
        }
        guard offset == size else { throw CallError(.invalidArgument, "the state has \(size - offset) extra bytes") }
        switch object.kind {
        case .single(var env):
            try env.base.restore(states[0])
            object.kind = .single(env)
        case .vector(var vector):
            try vector.restore(states)
            object.kind = .vector(vector)
        }
    }
}

// MARK: Recordings

/// The segment as the environment recorded it (NaN where the particle was lost), from `HoldLostFrames`' held
/// positions and its `tracked` mask.
func rawSegment(_ o: [String: [Float]]) -> [String: [Float]] {
    guard var segment = o["segment"], let tracked = o["tracked"], segment.count == 2 * tracked.count else { return o }
    for (i, t) in tracked.enumerated() where t == 0 {
        segment[2 * i] = .nan
        segment[2 * i + 1] = .nan
    }
    return ["segment": segment]
}

/// Starts recording the episodes of a single environment from its next reset on (any earlier recording is
/// dropped), as played by `agent` (a name written into the file).
@c(mg_record_start)
public func mg_record_start(_ handle: Int64, _ agent: UnsafePointer<CChar>?) -> Int32 {
    call {
        let object = try environmentHandles.acquire(handle)
        defer { environmentHandles.release(object) }
        guard case .single(let env) = object.kind else {
            throw CallError(.invalidArgument, "recording needs a single environment, not a vector")
        }
        object.recording = EpisodeRecording(environment: env.base, agent: try string(agent, "agent"))
    }
}

/// Writes the recording (format `microscopegym.recording/1`, as `gym-runner evaluate --record`) to `path`,
/// atomically; an episode still running is written as it stands. Recording goes on.
@c(mg_record_save)
public func mg_record_save(_ handle: Int64, _ path: UnsafePointer<CChar>?) -> Int32 {
    call {
        let object = try environmentHandles.acquire(handle)
        defer { environmentHandles.release(object) }
        guard let recording = object.recording else {
            throw CallError(.invalidArgument, "nothing is being recorded: call mg_record_start first")
        }
        let file = try string(path, "path")
        do { try recording.write(file) } catch {
            throw CallError(.invalidArgument, "\(file): cannot write the recording (\(error))")
        }
    }
}

// MARK: Buffers

/// The caller's per-key observation pointers, checked non-null.
func observationBuffers(_ pointers: UnsafePointer<UnsafeMutablePointer<Float>?>?, _ object: HandleObject) throws
    -> [UnsafeMutablePointer<Float>]
{
    guard let pointers else { throw CallError(.invalidArgument, "the observation buffer array is a null pointer") }
    return try (0..<object.keys.count).map { i in
        guard let p = pointers[i] else {
            throw CallError(.invalidArgument, "the buffer of observation key '\(object.keys[i])' is a null pointer")
        }
        return p
    }
}

/// Writes observation `o` as row `row` of each key's buffer.
func write(_ held: [String: [Float]], at row: Int, to buffers: [UnsafeMutablePointer<Float>], _ object: HandleObject) {
    let o = object.present(held)
    for (k, key) in object.keys.enumerated() {
        let size = object.sizes[k]
        let values = o[key] ?? []
        let destination = buffers[k] + row * size
        for i in 0..<size { destination[i] = i < values.count ? values[i] : .nan }
    }
}

/// Writes `info` as row `row` of the info buffer, in `LiquidCell.infoKeys` order (NaN for a missing key).
func write(_ info: Info, at row: Int, to buffer: UnsafeMutablePointer<Double>) {
    let keys = LiquidCell.infoKeys
    for (k, key) in keys.enumerated() { buffer[row * keys.count + k] = info[key] ?? .nan }
}
