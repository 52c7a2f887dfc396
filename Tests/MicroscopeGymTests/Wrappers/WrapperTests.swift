import Foundation
import XCTest
@testable import LeonardoSim
@testable import MicroscopeGym

final class WrapperTests: XCTestCase {
    func testTimeLimitEpisodeStatisticsFlattenNormalize() throws {
        var env = EpisodeStatistics(TimeLimit(TestCell.make(), maxSteps: 3))
        _ = try env.reset(seed: 1)
        var total = 0.0
        var s: Step<[String: [Float]]>
        repeat {
            s = try env.step(0)
            total += s.reward
        } while !s.done
        XCTAssertTrue(s.truncated)
        XCTAssertEqual(s.info["episode_length"], 3)
        XCTAssertEqual(s.info["episode_return"]!, total, accuracy: 1e-12)
        XCTAssertEqual(env.completed.count, 1)

        var flat = try FlattenObservation(TestCell.make(), keys: ["instrument", "features"])
        XCTAssertEqual(flat.keys, ["features", "instrument"])
        XCTAssertEqual(flat.observationSpace.count, LiquidCell.featureNames.count + 5)
        let (o, _) = try flat.reset(seed: 1)
        XCTAssertTrue(flat.observationSpace.contains(o))
        XCTAssertThrowsError(try FlattenObservation(TestCell.make(), keys: ["nope"]))

        var norm = NormalizeObservation(flat)
        _ = try norm.reset(seed: 2)
        var samples: [[Float]] = []
        for a in 0..<20 {
            let st = try norm.step(a % 28)
            samples.append(st.observation)
            if st.done { _ = try norm.reset(seed: 3) }
        }
        XCTAssertTrue(samples.allSatisfy { norm.observationSpace.contains($0) })
        // Running mean/variance: the statistics of the raw features are being tracked.
        XCTAssertGreaterThan(norm.count, 10)
    }

    func testActionMappings() throws {
        var cont = try ContinuousActions(TestCell.make(), gridShape: [7, 4])
        XCTAssertEqual(cont.discrete([0, 0]), 0)
        XCTAssertEqual(cont.discrete([1, 1]), 27)
        XCTAssertEqual(cont.discrete([0.5, 1]), 3 * 4 + 3)
        _ = try cont.reset(seed: 1)
        XCTAssertThrowsError(try cont.step([1.5, 0]))
        XCTAssertThrowsError(try ContinuousActions(TestCell.make(), gridShape: [5, 5]))

        var box = ContinuousLiquidCell(TestCell.make())
        _ = try box.reset(seed: 1)
        let s = try box.step([1, Float(Foundation.log10(12.5))])
        XCTAssertEqual(s.info["dose_rate"]!, 10, accuracy: 1e-4)
        XCTAssertEqual(s.info["frame_rate"]!, 12.5, accuracy: 1e-4)
        XCTAssertThrowsError(try box.step([3, 1]))
        var disc = try DiscreteActions(
            ContinuousLiquidCell(TestCell.make()),
            table: [[0, Float(Foundation.log10(25.0))], [2, Float(Foundation.log10(3.125))]])
        _ = try disc.reset(seed: 1)
        XCTAssertEqual(try disc.step(1).info["dose_rate"]!, 100, accuracy: 1e-3)
        XCTAssertThrowsError(try DiscreteActions(ContinuousLiquidCell(TestCell.make()), table: [[5, 0]]))
    }

    func testVectorEnvironmentsAutoResetAndBatchedDecodingAgree() throws {
        var batched = LiquidCellVector(TestCell.make(), count: 3)
        var plain = VectorEnvironment({ TestCell.make() }, count: 3)
        let o1 = try batched.reset(seed: 10)
        let o2 = try plain.reset(seed: 10)
        XCTAssertTrue(zip(o1, o2).allSatisfy { bitIdentical($0, $1) })
        var resets = 0
        for t in 0..<24 {
            let actions = [27, t % 28, 3]  // env 0 at full dose ends soon and must auto-reset
            let a = try batched.step(actions)
            let b = try plain.step(actions)
            for i in 0..<3 {
                XCTAssertEqual(a.rewards[i], b.rewards[i], accuracy: 1e-3 * max(1, abs(b.rewards[i])))
                XCTAssertEqual(a.terminated[i], b.terminated[i])
                XCTAssertEqual(a.truncated[i], b.truncated[i])
                if a.terminated[i] || a.truncated[i] {
                    XCTAssertNotNil(a.finalObservations[i])
                    resets += 1
                }
            }
        }
        XCTAssertGreaterThan(resets, 0)
    }
}
