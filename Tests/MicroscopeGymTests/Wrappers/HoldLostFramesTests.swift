import XCTest
@testable import LeonardoSim
@testable import MicroscopeGym

final class HoldLostFramesTests: XCTestCase {
    /// Lost frames take the last tracked position (the first tracked one before any detection); `tracked` marks
    /// detections; a segment with no detection is zeros; values are clipped to ±bound.
    func testHoldsTheTrackersEstimate() {
        let nan = Float.nan
        let o: [String: [Float]] = [
            "segment": [nan, nan, 1, 2, nan, 5, 3, 4, nan, nan], "features": [.infinity, -2e10, 0.5]
        ]
        let out = HoldLostFrames<LiquidCell>.transform(o, frames: 5)
        XCTAssertEqual(out["segment"], [1, 2, 1, 2, 1, 2, 3, 4, 3, 4])
        XCTAssertEqual(out["tracked"], [0, 1, 0, 1, 0])
        XCTAssertEqual(out["features"], [0, -1e9, 0.5])
        let none = HoldLostFrames<LiquidCell>.transform(["segment": [Float](repeating: nan, count: 6)], frames: 3)
        XCTAssertEqual(none["segment"], [0, 0, 0, 0, 0, 0])
        XCTAssertEqual(none["tracked"], [0, 0, 0])
    }

    /// On the environment: every observation is inside the bounded space, agrees with the raw one where tracked,
    /// and at a dose too low to detect every frame some frames are held.
    func testWrappedEnvironmentStaysInsideItsSpace() throws {
        var raw = TestCell.make()
        var env = try HoldLostFrames(TestCell.make())
        XCTAssertEqual(env.observationSpace.keys, ["features", "instrument", "segment", "tracked"])
        XCTAssertTrue(env.observationSpace.spaces.values.allSatisfy { $0.low.allSatisfy(\.isFinite) })
        _ = try raw.reset(seed: 9)
        _ = try env.reset(seed: 9)
        var lost = 0
        for _ in 0..<5 {
            let r = try raw.step(0)  // lowest dose rate, lowest frame rate
            let s = try env.step(0)
            XCTAssertTrue(env.observationSpace.contains(s.observation))
            XCTAssertEqual(r.reward, s.reward)
            for i in 0..<env.frames {
                if r.observation["segment"]![2 * i].isNaN {
                    lost += 1
                    XCTAssertEqual(s.observation["tracked"]![i], 0)
                } else {
                    XCTAssertEqual(s.observation["tracked"]![i], 1)
                    XCTAssertEqual(s.observation["segment"]![2 * i], r.observation["segment"]![2 * i])
                }
            }
        }
        XCTAssertGreaterThan(lost, 0, "the lowest dose should lose some frames")
    }

    /// Every reset and step reports exactly `LiquidCell.infoKeys`; unknown reset options are refused.
    func testInfoKeysAndResetOptions() throws {
        var env = TestCell.make()
        let (_, info) = try env.reset(seed: 1)
        XCTAssertEqual(info.keys.sorted(), LiquidCell.infoKeys)
        XCTAssertEqual(try env.step(3).info.keys.sorted(), LiquidCell.infoKeys)
        XCTAssertThrowsError(try env.reset(seed: 1, options: ["dose": 2])) { error in
            XCTAssertTrue("\(error)".contains("unknown reset option 'dose'"))
        }
        XCTAssertThrowsError(try env.reset(seed: 1, options: ["frame_rate": .nan]))
    }
}
