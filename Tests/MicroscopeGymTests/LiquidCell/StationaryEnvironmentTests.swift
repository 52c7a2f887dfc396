import Foundation
import XCTest
@testable import LeonardoSim
@testable import MicroscopeGym

/// The environment around a stationary-decoder LEONARDO: its per-frame noise comes from the environment's own
/// generator (same seed, same episode), the batched vector environment draws it in the single environment's order,
/// and the step profile of what the camera records is flat over frames.
final class StationaryEnvironmentTests: XCTestCase {
    static let model: Leonardo = {
        var c = LeonardoConfig.tiny
        c.length = 32
        c.latentDim = 12
        c.decoderVariant = .stationary
        c.noiseChannels = 4
        let m = try! Leonardo(config: c, seed: 3)
        m.doseCalibration = TestCell.calibration
        return m
    }()
    static func make() -> LiquidCell { try! LiquidCell(spec: TestCell.spec(), model: model) }

    func testSameSeedSameEpisodeAndGoldenTrace() throws {
        useKernels(.blas, for: [Self.model], self)
        var a = Self.make()
        var b = Self.make()
        _ = try a.reset(seed: 42)
        _ = try b.reset(seed: 42)
        var rewards: [Double] = []
        for action in [3, 10, 17, 24] {
            let sa = try a.step(action)
            let sb = try b.step(action)
            XCTAssertTrue(bitIdentical(sa.observation, sb.observation))
            rewards.append(sa.reward)
        }
        try requireGoldenBLASKernel()
        XCTAssertEqual(rewards.map { $0.bitPattern }, Self.golden, "\(rewards.map { $0.bitPattern })")
    }
    static let golden: [UInt64] = [
        4_549_617_566_578_358_777, 4_586_605_184_309_910_665, 4_604_783_009_398_434_435, 13_837_596_246_720_897_353
    ]

    func testBatchedDecodingDrawsTheSingleEnvironmentsNoise() throws {
        var batched = LiquidCellVector(Self.make(), count: 3)
        var plain = VectorEnvironment({ Self.make() }, count: 3)
        let o1 = try batched.reset(seed: 10)
        let o2 = try plain.reset(seed: 10)
        XCTAssertTrue(zip(o1, o2).allSatisfy { bitIdentical($0, $1) })
        for t in 0..<12 {
            let actions = [t % 28, 13, 3]
            let a = try batched.step(actions)
            let b = try plain.step(actions)
            for i in 0..<3 { XCTAssertEqual(a.rewards[i], b.rewards[i], accuracy: 1e-3 * max(1, abs(b.rewards[i]))) }
        }
    }
}
