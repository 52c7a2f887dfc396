import Foundation
import LeonardoSim
import MicroscopeGym

// The microscope model as a controller of a real (or replayed) instrument needs it: the observation an agent reads,
// built from measured data, and the spec's camera and damage laws for its nominal particle. Python's
// `microscope_gym.deploy` is written on these; the formulas are the environment's own (LiquidCell), so a policy sees
// the same features and instrument readings from an instrument as from the simulator.

/// The `features` (12) and `instrument` (5) observations of a measured segment: `positions` frames×2 floats (nm,
/// NaN where the particle was not tracked; `frames` must be the environment's segment length) and the readings.
@c(mg_observe)
public func mg_observe(
    _ handle: Int64, _ positions: UnsafePointer<Float>?, _ frames: Int64, _ doseRate: Double, _ frameRate: Double,
    _ cumulativeDose: Double, _ damage: Double, _ elapsedTime: Double, _ features: UnsafeMutablePointer<Float>?,
    _ instrument: UnsafeMutablePointer<Float>?
) -> Int32 {
    call {
        let object = try environmentHandles.acquire(handle)
        defer { environmentHandles.release(object) }
        let cell = object.cell
        let T = cell.spec.segmentFrames
        guard frames == T else {
            throw CallError(.invalidArgument, "a segment of \(frames) frames; \(cell.spec.id) observes \(T)")
        }
        guard let positions else { throw CallError(.invalidArgument, "positions is a null pointer") }
        for (name, v) in [
            ("dose rate", doseRate), ("frame rate", frameRate), ("cumulative dose", cumulativeDose),
            ("damage", damage), ("elapsed time", elapsedTime)
        ] where !v.isFinite || v < 0 {
            throw CallError(.invalidArgument, "\(name) \(v) must be finite and ≥ 0")
        }
        guard doseRate > 0, frameRate > 0 else {
            throw CallError(.invalidArgument, "dose rate and frame rate must be positive")
        }
        let observed = Array(UnsafeBufferPointer(start: positions, count: 2 * T))
        var detected = 0
        for i in 0..<T {
            let (x, y) = (observed[2 * i], observed[2 * i + 1])
            guard x.isNaN == y.isNaN, x.isNaN || (x.isFinite && y.isFinite) else {
                throw CallError(.invalidArgument, "frame \(i): x and y must both be finite or both NaN (not tracked)")
            }
            if !x.isNaN { detected += 1 }
        }
        let f = LiquidCell.features(observed, length: T, detected: detected)
        let i = cell.instrumentVector(
            doseRate: doseRate, frameRate: frameRate, cumulativeDose: cumulativeDose, damage: damage,
            elapsedTime: elapsedTime)
        try required(features, "features").update(from: f, count: f.count)
        try required(instrument, "instrument").update(from: i, count: i.count)
    }
}

/// The spec's camera and damage laws for its nominal particle (contrast 1, critical dose `damage.criticalDose`) at a
/// setting, for `duration` seconds: electrons per frame on the particle, localisation precision (nm), the
/// probability that a frame is tracked, and the effective dose of the interval.
@c(mg_nominal_camera)
public func mg_nominal_camera(
    _ handle: Int64, _ doseRate: Double, _ frameRate: Double, _ duration: Double,
    _ electronsPerFrame: UnsafeMutablePointer<Double>?, _ localizationPrecision: UnsafeMutablePointer<Double>?,
    _ detectionProbability: UnsafeMutablePointer<Double>?, _ effectiveDose: UnsafeMutablePointer<Double>?
) -> Int32 {
    call {
        let object = try environmentHandles.acquire(handle)
        defer { environmentHandles.release(object) }
        let cell = object.cell
        guard doseRate.isFinite, doseRate > 0, frameRate.isFinite, frameRate > 0, duration.isFinite, duration >= 0
        else {
            throw CallError(.invalidArgument, "dose rate and frame rate must be positive, duration ≥ 0 (all finite)")
        }
        let n = cell.electronsPerFrame(doseRate: doseRate, frameRate: frameRate)
        try required(electronsPerFrame, "electronsPerFrame").pointee = n
        try required(localizationPrecision, "localizationPrecision").pointee = cell.localizationPrecision(
            electronsPerFrame: n, contrast: 1)
        try required(detectionProbability, "detectionProbability").pointee = cell.detectionProbability(
            electronsPerFrame: n, contrast: 1)
        try required(effectiveDose, "effectiveDose").pointee = cell.effectiveDoseIncrement(
            doseRate: doseRate, duration: duration)
    }
}

/// The nominal particle's damage after `effectiveDose` (e⁻/Å², as `mg_nominal_camera` sums it).
@c(mg_nominal_damage)
public func mg_nominal_damage(_ handle: Int64, _ effectiveDose: Double, _ damage: UnsafeMutablePointer<Double>?)
    -> Int32
{
    call {
        let object = try environmentHandles.acquire(handle)
        defer { environmentHandles.release(object) }
        guard effectiveDose.isFinite, effectiveDose >= 0 else {
            throw CallError(.invalidArgument, "effective dose \(effectiveDose) must be finite and ≥ 0")
        }
        let cell = object.cell
        try required(damage, "damage").pointee = cell.damage(
            effectiveDose: effectiveDose, criticalDose: cell.spec.damage.criticalDose)
    }
}

/// A trajectory file (the project's HDF5 layout, dataset `trajectories` N×T×2): with a null `buffer`, only `count`
/// and `frames`; else its N·T·2 floats into `buffer` of `capacity` floats.
@c(mg_read_trajectories)
public func mg_read_trajectories(
    _ path: UnsafePointer<CChar>?, _ buffer: UnsafeMutablePointer<Float>?, _ capacity: Int64,
    _ count: UnsafeMutablePointer<Int64>?, _ frames: UnsafeMutablePointer<Int64>?
) -> Int32 {
    call {
        let file = try string(path, "path")
        let set: TrajectorySet
        do { set = try TrajectorySet.read(file) } catch {
            throw CallError(.invalidArgument, "\(file): \(error)")
        }
        try required(count, "count").pointee = Int64(set.count)
        try required(frames, "frames").pointee = Int64(set.length)
        guard let buffer else { return }
        guard capacity >= Int64(set.trajectories.count) else {
            throw CallError(
                .invalidArgument, "the buffer holds \(capacity) floats; \(set.trajectories.count) are needed")
        }
        buffer.update(from: set.trajectories, count: set.trajectories.count)
    }
}
