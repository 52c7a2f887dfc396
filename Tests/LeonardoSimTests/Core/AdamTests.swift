import Foundation
import XCTest

@testable import LeonardoSim

/// Adam's update against the paper's formula, and its vectorised, chunked loop against the plain scalar loop it
/// replaced, bit for bit.
final class AdamTests: XCTestCase {
    /// A store of `count` parameters (one tensor of an odd size, so chunks and the 16-lane loop leave tails).
    func makeStore(_ count: Int, seed: UInt64) -> ParameterStore {
        let s = ParameterStore()
        _ = s.declare("w", [count], .uniformFanIn(4))
        var rng = Xoshiro256StarStar(seed: seed)
        s.finalize(rng: &rng)
        return s
    }

    func testUpdateIsBitIdenticalToTheScalarLoopAndFollowsThePaper() {
        // 37 (scalar tail only), 1,000 (one chunk), 200,003 (a chunk per worker, unaligned boundaries).
        for count in [37, 1_000, 200_003] {
            let store = makeStore(count, seed: UInt64(count))
            let adam = Adam(store, learningRate: 1e-3)
            var rng = Xoshiro256StarStar(seed: 99)
            // The reference state: the scalar loop in float, and the paper's formula in double.
            var p = Array(UnsafeBufferPointer(start: store.values, count: store.count))
            var m = [Float](repeating: 0, count: store.count)
            var v = m
            var pd = p.map(Double.init)
            var md = [Double](repeating: 0, count: store.count)
            var vd = md
            let (b1, b2, lr, e) = (adam.beta1, adam.beta2, adam.learningRate, adam.eps)
            for t in 1...3 {
                for i in 0..<store.count { store.grads[i] = Float(rng.normal()) * (i % 7 == 0 ? 1e-4 : 1) }
                adam.update()
                let c1 = 1 - Float(pow(Double(b1), Double(t)))
                let c2 = 1 - Float(pow(Double(b2), Double(t)))
                for i in 0..<store.count {
                    let gi = store.grads[i]
                    m[i] = b1 * m[i] + (1 - b1) * gi
                    v[i] = b2 * v[i] + (1 - b2) * gi * gi
                    p[i] -= lr * (m[i] / c1) / ((v[i] / c2).squareRoot() + e)
                    let g = Double(gi)
                    md[i] = Double(b1) * md[i] + (1 - Double(b1)) * g
                    vd[i] = Double(b2) * vd[i] + (1 - Double(b2)) * g * g
                    let mh = md[i] / (1 - pow(Double(b1), Double(t)))
                    let vh = vd[i] / (1 - pow(Double(b2), Double(t)))
                    pd[i] -= Double(lr) * mh / (vh.squareRoot() + Double(e))
                }
            }
            var mismatches = 0
            var worst = 0.0
            for i in 0..<store.count {
                if store.values[i].bitPattern != p[i].bitPattern || adam.m[i].bitPattern != m[i].bitPattern
                    || adam.v[i].bitPattern != v[i].bitPattern
                {
                    mismatches += 1
                }
                worst = max(worst, abs(Double(store.values[i]) - pd[i]))
            }
            XCTAssertEqual(mismatches, 0, "count \(count): elements that differ from the scalar loop")
            // Three steps move a parameter by at most ~3·lr; float rounding of the state stays far below that.
            XCTAssertLessThan(worst, 1e-6, "count \(count): distance to the double-precision formula")
        }
    }
}
