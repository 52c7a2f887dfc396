import Foundation

extension TrajectorySet {
    /// Every window of `window` consecutive frames that starts at a multiple of `stride` (overlapping when
    /// stride < window). Per-trajectory vectors follow their windows.
    public func windows(_ window: Int, stride step: Int) throws -> TrajectorySet {
        guard window >= 3, window <= length else {
            throw LeonardoError.invalidArgument("window must be 3 ... \(length) frames, got \(window)")
        }
        guard step >= 1 else { throw LeonardoError.invalidArgument("window stride must be at least 1, got \(step)") }
        var picks: [(Int, Int)] = []
        for i in 0..<count {
            for start in Swift.stride(from: 0, through: length - window, by: step) { picks.append((i, start)) }
        }
        var out = [Float]()
        out.reserveCapacity(picks.count * window * 2)
        for (i, start) in picks {
            out.append(contentsOf: trajectories[((i * length + start) * 2)..<((i * length + start + window) * 2)])
        }
        return TrajectorySet(
            trajectories: out, count: picks.count, length: window, dose: dose.map { d in picks.map { d[$0.0] } },
            labels: labels.map { l in picks.map { l[$0.0] } }, labelNames: labelNames,
            alpha: alpha.map { a in picks.map { a[$0.0] } }, attributes: attributes)
    }

    /// The eight images of every trajectory under the symmetries of the square (rotations by multiples of 90° and
    /// reflections: (x, y) → (±x, ±y), (±y, ±x)). In-plane diffusion of a particle in an isotropic liquid has no
    /// preferred direction, and these maps keep the paper's per-axis normalisation (the ranges are only permuted).
    /// Image k of trajectory i is trajectory 8i + k; image 0 is the original.
    /// The eight symmetries of the square as (swap axes, sign of x, sign of y), identity first.
    public static let squareSymmetries: [(swapAxes: Bool, sx: Float, sy: Float)] = [
        (false, 1, 1), (false, -1, 1), (false, 1, -1), (false, -1, -1),
        (true, 1, 1), (true, -1, 1), (true, 1, -1), (true, -1, -1)
    ]

    /// Applies one of the eight symmetries of the square to each trajectory of `trajectories` (count × `length` × 2),
    /// drawn uniformly from `rng` (one draw per trajectory), then shifts each axis to minimum 0 so that a
    /// paper-normalised trajectory stays normalised. A set so treated is isotropic in law whatever the generator's
    /// preferred axis: free in-plane diffusion has none.
    public static func applyRandomSymmetries(
        _ trajectories: inout [Float], count: Int, length: Int, rng: inout Xoshiro256StarStar
    ) {
        for i in 0..<count {
            let (swapAxes, sx, sy) = squareSymmetries[Int(rng.next() % 8)]
            var (minX, minY) = (Float.infinity, Float.infinity)
            for t in 0..<length {
                let k = (i * length + t) * 2
                let (x, y) = (trajectories[k], trajectories[k + 1])
                trajectories[k] = sx * (swapAxes ? y : x)
                trajectories[k + 1] = sy * (swapAxes ? x : y)
                minX = min(minX, trajectories[k])
                minY = min(minY, trajectories[k + 1])
            }
            for t in 0..<length {
                trajectories[(i * length + t) * 2] -= minX
                trajectories[(i * length + t) * 2 + 1] -= minY
            }
        }
    }

    public func symmetryAugmented() -> TrajectorySet {
        let maps = TrajectorySet.squareSymmetries
        var out = [Float](repeating: 0, count: trajectories.count * maps.count)
        var index = 0
        for i in 0..<count {
            for (swapAxes, sx, sy) in maps {
                for t in 0..<length {
                    let x = trajectories[(i * length + t) * 2]
                    let y = trajectories[(i * length + t) * 2 + 1]
                    out[index] = sx * (swapAxes ? y : x)
                    out[index + 1] = sy * (swapAxes ? x : y)
                    index += 2
                }
            }
        }
        func repeated<V>(_ v: [V]?) -> [V]? {
            v.map { values in values.flatMap { Array(repeating: $0, count: maps.count) } }
        }
        return TrajectorySet(
            trajectories: out, count: count * maps.count, length: length, dose: repeated(dose),
            labels: repeated(labels), labelNames: labelNames, alpha: repeated(alpha), attributes: attributes)
    }

    /// This set followed by `other` (same length); a per-trajectory vector is kept only where both sets have it.
    public func concatenated(with other: TrajectorySet) throws -> TrajectorySet {
        guard other.length == length else {
            throw LeonardoError.invalidData("cannot join trajectories of \(length) and \(other.length) frames")
        }
        func join<V>(_ a: [V]?, _ b: [V]?) -> [V]? { if let a, let b { return a + b } else { return nil } }
        return TrajectorySet(
            trajectories: trajectories + other.trajectories, count: count + other.count, length: length,
            dose: join(dose, other.dose), labels: join(labels, other.labels),
            labelNames: labelNames == other.labelNames ? labelNames : nil, alpha: join(alpha, other.alpha),
            attributes: attributes)
    }
}
