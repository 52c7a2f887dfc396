import Foundation
import XCTest

@testable import Agents
@testable import LeonardoSim
@testable import MicroscopeGym

/// The GRU's back-propagation through time against central differences, and the recurrent DQN on the cue task that
/// a memoryless agent cannot solve (`CueTask`, MemoryTaskTests.swift).
final class RecurrentDQNTests: XCTestCase {
    func testGRUGradientsMatchCentralDifferences() throws {
        let store = ParameterStore()
        let gru = GRU(store, "gru", inputSize: 3, hiddenSize: 4)
        var rng = Xoshiro256StarStar(seed: 21)
        store.finalize(rng: &rng)
        let (L, B) = (5, 2)
        let xs = (0..<(L * B * 3)).map { _ in Float(rng.normal()) }
        let h0 = (0..<(B * 4)).map { _ in Float(0.5 * rng.normal()) }
        let w = (0..<(L * B * 4)).map { _ in Float(rng.normal()) }
        func objective() -> Double {
            let out = gru.forward(xs, h0: h0, steps: L, batch: B)
            return zip(w, out).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }
        _ = objective()
        store.zeroGrads()
        gru.backward(w)
        let analytic = Array(UnsafeBufferPointer(start: store.grads, count: store.count)).map(Double.init)
        let h: Float = 1e-2
        var worst = 0.0
        let scale = analytic.map(abs).max() ?? 0
        XCTAssertGreaterThan(scale, 1e-3, "the gradient is not identically zero")
        for r in store.refs {
            for i in 0..<r.count {
                let p = store.value(r) + i
                let orig = p.pointee
                p.pointee = orig + h
                let jp = objective()
                p.pointee = orig - h
                let jm = objective()
                p.pointee = orig
                let numeric = (jp - jm) / Double(2 * h)
                let a = analytic[r.offset + i]
                worst = max(worst, abs(a - numeric) / (max(abs(a), abs(numeric)) + 1e-2 * scale))
            }
        }
        XCTAssertLessThan(worst, 2e-2, "largest relative difference of analytic and numeric gradients")
    }

    func trainedRecurrentReturn(seed: UInt64) throws -> Double {
        var hyper = RecurrentDQNHyperparameters()
        hyper.totalSteps = 3_000
        hyper.learningStarts = 200
        hyper.batchSize = 16
        hyper.hiddenSize = 16
        hyper.explorationFraction = 0.5
        hyper.targetUpdateFrequency = 100
        hyper.trainFrequency = 2
        return try cueTaskReturn(
            after: try RecurrentDQNAgent(observationSize: 2, actionCount: 2, hyper: hyper, seed: seed), on: CueTask())
    }

    /// The cue is seen only at the first step: the recurrent agent remembers it; DQN, trained as long on the same
    /// observations, cannot do better than chance.
    func testTheRecurrentAgentSolvesTheCueTaskAndDQNDoesNot() throws {
        for seed: UInt64 in [4, 5] {
            XCTAssertGreaterThan(try trainedRecurrentReturn(seed: seed), 0.95, "recurrent DQN, seed \(seed)")
        }
        var hyper = DQNHyperparameters()
        hyper.totalSteps = 3_000
        hyper.learningStarts = 200
        hyper.batchSize = 16
        hyper.hiddenSizes = [16]
        hyper.explorationFraction = 0.5
        hyper.targetUpdateFrequency = 100
        let dqn = try cueTaskReturn(
            after: try DQNAgent(observationSize: 2, actionCount: 2, hyper: hyper, seed: 4), on: CueTask())
        XCTAssertLessThan(dqn, 0.75, "DQN without memory")
    }

    /// A validation run in the middle of a training episode leaves the training episode's recurrent state alone.
    func testEvaluationEpisodesDoNotDisturbTheTrainingMemory() throws {
        let agent = try RecurrentDQNAgent(observationSize: 2, actionCount: 2, seed: 1)
        agent.beginEpisode(training: true)
        _ = agent.act([1, 0], explore: true)
        let kept = agent.trainState
        agent.beginEpisode(training: false)
        _ = agent.act([-1, 0], explore: false)
        _ = agent.act([0, 1], explore: false)
        XCTAssertEqual(agent.trainState, kept)
        XCTAssertNotEqual(agent.evalState, kept)
        agent.beginEpisode(training: true)
        XCTAssertEqual(agent.trainState, [Float](repeating: 0, count: agent.hyper.hiddenSize))
    }

    func testBadHyperparametersNameTheFlag() {
        var h = RecurrentDQNHyperparameters()
        h.sequenceLength = 0
        XCTAssertThrowsError(try RecurrentDQNAgent(observationSize: 2, actionCount: 2, hyper: h, seed: 1)) {
            XCTAssertTrue("\($0)".contains("sequence-length"), "\($0)")
        }
        h = RecurrentDQNHyperparameters()
        h.learningStarts = h.bufferSize + 1
        XCTAssertThrowsError(try RecurrentDQNAgent(observationSize: 2, actionCount: 2, hyper: h, seed: 1))
    }
}
