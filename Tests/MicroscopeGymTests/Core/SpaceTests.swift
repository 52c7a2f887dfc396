import Foundation
import XCTest
@testable import LeonardoSim
@testable import MicroscopeGym

final class SpaceTests: XCTestCase {
    func testBoxContainsAndSamples() {
        let box = Box(shape: [2, 2], low: [0, -1, -.infinity, 0], high: [1, 1, .infinity, .infinity])
        var rng = Xoshiro256StarStar(seed: 1)
        for _ in 0..<100 { XCTAssertTrue(box.contains(box.sample(using: &rng))) }
        XCTAssertFalse(box.contains([0, 0, 0]), "wrong length")
        XCTAssertFalse(box.contains([2, 0, 0, 0]), "above high")
        XCTAssertFalse(box.contains([0, -2, 0, 0]), "below low")
        XCTAssertFalse(box.contains([.nan, 0, 0, 0]), "NaN in a bounded entry")
        XCTAssertTrue(box.contains([0, 0, .nan, 0]), "NaN allowed where unbounded both ways (lost particle)")
    }

    func testDiscreteMultiDiscreteDict() {
        var rng = Xoshiro256StarStar(seed: 2)
        let d = Discrete(5)
        var seen = Set<Int>()
        for _ in 0..<200 {
            let x = d.sample(using: &rng)
            XCTAssertTrue(d.contains(x))
            seen.insert(x)
        }
        XCTAssertEqual(seen, Set(0..<5))
        XCTAssertFalse(d.contains(5))
        XCTAssertFalse(d.contains(-1))
        let md = MultiDiscrete([2, 3])
        for _ in 0..<50 { XCTAssertTrue(md.contains(md.sample(using: &rng))) }
        XCTAssertFalse(md.contains([2, 0]))
        XCTAssertFalse(md.contains([0]))
        let dict = DictSpace(["a": Box(shape: [1], low: 0, high: 1), "b": Box(shape: [2], low: -1, high: 1)])
        for _ in 0..<50 { XCTAssertTrue(dict.contains(dict.sample(using: &rng))) }
        XCTAssertFalse(dict.contains(["a": [0.5]]), "missing key")
        XCTAssertFalse(dict.contains(["a": [0.5], "b": [0, 0], "c": [1]]), "extra key")
        XCTAssertEqual(dict.keys, ["a", "b"])
    }
}
