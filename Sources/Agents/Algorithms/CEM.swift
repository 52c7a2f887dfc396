import Foundation
import LeonardoSim
import MicroscopeGym

/// Cross-entropy method (Rubinstein 1999; Szita & Lőrincz, Neural Comput. 18, 2936, 2006 for policies) over a
/// linear policy: action = argmax(W·x̂ + b), x̂ the standardised observation. Each generation samples
/// `population` parameter vectors from N(μ, σ²), scores each by the return of `episodesPerCandidate`
/// episodes, and refits μ, σ to the best `eliteFraction` (plus `extraNoise` to avoid early collapse).
public struct CEMHyperparameters: Codable, Equatable, Sendable {
    public var population = 16
    public var eliteFraction = 0.25
    public var initialStd = 1.0
    public var extraNoise = 0.05
    public var episodesPerCandidate = 1
    public init() {}
    public func validate() throws {
        guard population >= 2 && population <= 100_000 else {
            throw AgentError.incompatible("CEM: population is \(population); it must lie in 2 … 100,000")
        }
        guard eliteFraction > 0 && eliteFraction <= 1 else {
            throw AgentError.incompatible("CEM: elite-fraction must lie in (0, 1]")
        }
        guard initialStd > 0, initialStd <= 1e3, extraNoise >= 0, extraNoise <= 1e3 else {
            throw AgentError.incompatible("CEM: initial-std must lie in (0, 1000], extra-noise in [0, 1000]")
        }
        guard episodesPerCandidate >= 1 && episodesPerCandidate <= 10_000 else {
            throw AgentError.incompatible("CEM: episodes-per-candidate must lie in 1 … 10,000")
        }
    }
}

public final class CEMAgent: Agent {
    public let name = "cem"
    public let hyper: CEMHyperparameters
    public let observationSize: Int, actionCount: Int
    public private(set) var mean: [Double], std: [Double]
    public private(set) var normalizer: ObservationNormalizer
    public private(set) var generation = 0
    var rng: Xoshiro256StarStar
    var candidates: [[Double]] = []
    var scores: [Double] = []
    var current = 0, episodesOfCurrent = 0, scoreOfCurrent = 0.0
    let scratch: FloatBuffer

    public init(observationSize: Int, actionCount: Int, hyper: CEMHyperparameters = CEMHyperparameters(), seed: UInt64)
        throws
    {
        try hyper.validate()
        self.hyper = hyper
        self.observationSize = observationSize
        self.actionCount = actionCount
        let n = (observationSize + 1) * actionCount
        mean = [Double](repeating: 0, count: n)
        std = [Double](repeating: hyper.initialStd, count: n)
        normalizer = ObservationNormalizer(dimension: observationSize)
        rng = Xoshiro256StarStar(seed: seed)
        scratch = FloatBuffer(count: observationSize)
        sampleGeneration()
    }

    func sampleGeneration() {
        candidates = (0..<hyper.population).map { _ in (0..<mean.count).map { mean[$0] + std[$0] * rng.normal() } }
        scores = []
        current = 0
        episodesOfCurrent = 0
        scoreOfCurrent = 0
    }

    func action(_ o: [Float], params: [Double]) -> Int {
        normalizer.apply(o, into: scratch.pointer)
        var best = 0
        var bestValue = -Double.infinity
        for a in 0..<actionCount {
            var v = params[observationSize * actionCount + a]
            for i in 0..<observationSize { v += params[a * observationSize + i] * Double(scratch.pointer[i]) }
            if v > bestValue {
                bestValue = v
                best = a
            }
        }
        return best
    }

    /// Exploration plays the candidate under evaluation; greedy play uses the distribution's mean.
    public func act(_ observation: [Float], explore: Bool) -> Int {
        action(observation, params: explore ? candidates[current] : mean)
    }

    public func observe(_ t: Transition) -> [String: Double] {
        if generation == 0 && current == 0 { normalizer.update(t.observation) }
        return ["generation": Double(generation)]
    }

    public func endEpisode(return r: Double) {
        scoreOfCurrent += r
        episodesOfCurrent += 1
        guard episodesOfCurrent >= hyper.episodesPerCandidate else { return }
        scores.append(scoreOfCurrent / Double(episodesOfCurrent))
        current += 1
        episodesOfCurrent = 0
        scoreOfCurrent = 0
        guard current == hyper.population else { return }
        let eliteCount = max(1, Int((Double(hyper.population) * hyper.eliteFraction).rounded()))
        let elite = scores.indices.sorted { scores[$0] > scores[$1] }.prefix(eliteCount)
        for j in 0..<mean.count {
            let m = elite.map { candidates[$0][j] }.reduce(0, +) / Double(eliteCount)
            let v = elite.map { (candidates[$0][j] - m) * (candidates[$0][j] - m) }.reduce(0, +) / Double(eliteCount)
            mean[j] = m
            std[j] = (v + hyper.extraNoise * hyper.extraNoise).squareRoot()
        }
        generation += 1
        sampleGeneration()
    }

    public func save(to path: String) throws {
        try PolicyFile.write(path, agent: name) { f in
            try PolicyFile.writeHeader(
                f, hyper: hyper, observationSize: observationSize, actionCount: actionCount, normalizer: normalizer)
            try f.setAttribute("generation", generation)
            try f.write("mean", mean, shape: [mean.count])
            try f.write("std", std, shape: [std.count])
        }
    }

    public static func load(_ path: String) throws -> CEMAgent {
        let f = try HDF5File.open(path)
        defer { f.close() }
        let header = try PolicyFile.Header<CEMHyperparameters>(f, path: path, agent: "cem")
        let agent = try CEMAgent(
            observationSize: header.observationSize, actionCount: header.actionCount, hyper: header.hyper, seed: 0)
        agent.mean = try f.readDouble("mean").data
        agent.std = try f.readDouble("std").data
        guard agent.mean.count == agent.std.count, agent.mean.count == (header.observationSize + 1) * header.actionCount
        else {
            throw AgentError.badPolicyFile("\(path): CEM parameters have the wrong size")
        }
        agent.normalizer = header.normalizer
        agent.generation = Int(try f.doubleAttribute("generation") ?? 0)
        return agent
    }
}
