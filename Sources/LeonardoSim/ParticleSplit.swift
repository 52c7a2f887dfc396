import Foundation

/// A train / validation / test split of experimental trajectories by particle: every particle (one trajectory of
/// the experimental file) belongs to exactly one part, so no window, rotation or reflection of a test particle
/// reaches a fit. Stored as JSON (`data/aunr_lptem_300-split.json` for the shipped data).
public struct ParticleSplit: Codable, Equatable, Sendable {
    /// Seed of the shuffle that made the split.
    public var seed: UInt64
    /// Number of particles split (indices 0 ..< particles of the experimental file).
    public var particles: Int
    public var train: [Int]
    public var validation: [Int]
    public var test: [Int]

    /// A seeded random split: `validationCount` and `testCount` particles, the rest for training; each part sorted.
    public static func make(particles n: Int, validationCount: Int, testCount: Int, seed: UInt64) throws -> ParticleSplit {
        guard validationCount >= 1, testCount >= 1, validationCount + testCount < n else {
            throw LeonardoError.invalidArgument(
                "a split of \(n) particles needs at least one validation and one test particle and one left for training")
        }
        var order = Array(0..<n)
        var rng = Xoshiro256StarStar(seed: seed)
        rng.shuffle(&order)
        let test = Array(order[0..<testCount]).sorted()
        let validation = Array(order[testCount..<(testCount + validationCount)]).sorted()
        let train = Array(order[(testCount + validationCount)...]).sorted()
        return ParticleSplit(seed: seed, particles: n, train: train, validation: validation, test: test)
    }

    /// Throws unless the three parts are disjoint, within 0 ..< particles and cover every particle.
    public func validate() throws {
        var seen = [Bool](repeating: false, count: particles)
        for (name, part) in [("train", train), ("validation", validation), ("test", test)] {
            for i in part {
                guard i >= 0, i < particles else {
                    throw LeonardoError.invalidData("particle split: \(name) holds particle \(i), outside 0..<\(particles)")
                }
                guard !seen[i] else { throw LeonardoError.invalidData("particle split: particle \(i) is in two parts") }
                seen[i] = true
            }
        }
        if let missing = seen.firstIndex(of: false) {
            throw LeonardoError.invalidData("particle split: particle \(missing) is in no part")
        }
    }

    public static func read(_ path: String) throws -> ParticleSplit {
        guard let data = FileManager.default.contents(atPath: path) else { throw LeonardoError.fileNotFound(path) }
        let split: ParticleSplit
        do { split = try JSONDecoder().decode(ParticleSplit.self, from: data) } catch {
            throw LeonardoError.invalidData("\(path): not a particle split (\(error))")
        }
        try split.validate()
        return split
    }

    public func write(_ path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try writeDataAtomically(path, try encoder.encode(self) + Data("\n".utf8))
    }
}

extension TrajectorySet {
    /// Every window of `window` consecutive frames that starts at a multiple of `stride` (overlapping when
    /// stride < window). Per-trajectory vectors follow their windows.
    public func windows(_ window: Int, stride step: Int) throws -> TrajectorySet {
        guard window >= 3, window <= length else {
            throw LeonardoError.invalidArgument("window must be 3 ... \(length) frames, got \(window)")
        }
        guard step >= 1 else { throw LeonardoError.invalidArgument("window stride must be at least 1, got \(step)") }
        var picks: [(Int, Int)] = []
        for i in 0..<count { for start in Swift.stride(from: 0, through: length - window, by: step) { picks.append((i, start)) } }
        var out = [Float]()
        out.reserveCapacity(picks.count * window * 2)
        for (i, start) in picks {
            out.append(contentsOf: trajectories[((i * length + start) * 2)..<((i * length + start + window) * 2)])
        }
        return TrajectorySet(trajectories: out, count: picks.count, length: window, dose: dose.map { d in picks.map { d[$0.0] } },
                             labels: labels.map { l in picks.map { l[$0.0] } }, labelNames: labelNames,
                             alpha: alpha.map { a in picks.map { a[$0.0] } }, attributes: attributes)
    }

    /// The eight images of every trajectory under the symmetries of the square (rotations by multiples of 90° and
    /// reflections: (x, y) → (±x, ±y), (±y, ±x)). In-plane diffusion of a particle in an isotropic liquid has no
    /// preferred direction, and these maps keep the paper's per-axis normalisation (the ranges are only permuted).
    /// Image k of trajectory i is trajectory 8i + k; image 0 is the original.
    public func symmetryAugmented() -> TrajectorySet {
        let maps: [(Bool, Float, Float)] = [(false, 1, 1), (false, -1, 1), (false, 1, -1), (false, -1, -1),
                                            (true, 1, 1), (true, -1, 1), (true, 1, -1), (true, -1, -1)]
        var out = [Float](repeating: 0, count: trajectories.count * maps.count)
        var index = 0
        for i in 0..<count {
            for (swapAxes, sx, sy) in maps {
                for t in 0..<length {
                    let x = trajectories[(i * length + t) * 2], y = trajectories[(i * length + t) * 2 + 1]
                    out[index] = sx * (swapAxes ? y : x)
                    out[index + 1] = sy * (swapAxes ? x : y)
                    index += 2
                }
            }
        }
        func repeated<V>(_ v: [V]?) -> [V]? { v.map { values in values.flatMap { Array(repeating: $0, count: maps.count) } } }
        return TrajectorySet(trajectories: out, count: count * maps.count, length: length, dose: repeated(dose),
                             labels: repeated(labels), labelNames: labelNames, alpha: repeated(alpha), attributes: attributes)
    }

    /// This set followed by `other` (same length); a per-trajectory vector is kept only where both sets have it.
    public func concatenated(with other: TrajectorySet) throws -> TrajectorySet {
        guard other.length == length else {
            throw LeonardoError.invalidData("cannot join trajectories of \(length) and \(other.length) frames")
        }
        func join<V>(_ a: [V]?, _ b: [V]?) -> [V]? { if let a, let b { return a + b } else { return nil } }
        return TrajectorySet(trajectories: trajectories + other.trajectories, count: count + other.count, length: length,
                             dose: join(dose, other.dose), labels: join(labels, other.labels),
                             labelNames: labelNames == other.labelNames ? labelNames : nil, alpha: join(alpha, other.alpha),
                             attributes: attributes)
    }
}
