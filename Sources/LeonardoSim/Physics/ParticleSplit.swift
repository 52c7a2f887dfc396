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
    public static func make(particles n: Int, validationCount: Int, testCount: Int, seed: UInt64) throws
        -> ParticleSplit
    {
        guard validationCount >= 1, testCount >= 1, validationCount + testCount < n else {
            throw LeonardoError.invalidArgument(
                "a split of \(n) particles needs at least one validation and one test particle and one left for training"
            )
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
                    throw LeonardoError.invalidData(
                        "particle split: \(name) holds particle \(i), outside 0..<\(particles)")
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
