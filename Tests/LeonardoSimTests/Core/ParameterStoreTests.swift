import Foundation
import XCTest

@testable import LeonardoSim

/// The parameter store's layout: cache-line aligned tensors, zero padding, and the parameter count without it.
final class ParameterStoreTests: XCTestCase {
    func testTensorsStartOnCacheLinesAndThePaddingStaysZero() {
        let store = ParameterStore()
        let shapes = [[3, 5], [7], [16, 16], [1], [2, 9]]
        let refs = shapes.enumerated().map { store.declare("p\($0.offset)", $0.element, .constant(1)) }
        var rng = Xoshiro256StarStar(seed: 1)
        store.finalize(rng: &rng)
        XCTAssertEqual(Int(bitPattern: store.values) % 64, 0, "values block not 64-byte aligned")
        XCTAssertEqual(Int(bitPattern: store.grads) % 64, 0, "gradient block not 64-byte aligned")
        XCTAssertEqual(store.parameterCount, shapes.map { $0.reduce(1, *) }.reduce(0, +))
        var covered = [Bool](repeating: false, count: store.count)
        for r in refs {
            XCTAssertEqual(r.offset % ParameterStore.alignment, 0, "\(r.name) at offset \(r.offset)")
            for i in r.offset..<(r.offset + r.count) { covered[i] = true }
        }
        for i in 0..<store.count where !covered[i] {
            XCTAssertEqual(store.values[i], 0, "padding value at \(i)")
            XCTAssertEqual(store.grads[i], 0, "padding gradient at \(i)")
        }
        XCTAssertEqual(store.count, refs.last.map { $0.offset + $0.count })
    }

}
