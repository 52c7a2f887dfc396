import XCTest
@testable import LeonardoSim

/// The hand-written kernels behind the decoder's speed: the vectorised exp and softmax, the deferred
/// softmax normalisation of inference, and the row/column splits of `sgemm` across workers, each against
/// an independent double-precision reference.
final class KernelTests: XCTestCase {
    func testExpMatchesLibmWithinTwoUlp() {
        var worst: Double = 0
        var x: Float = -87
        while x <= 0 {
            let lanes = SIMD8<Float>((0..<8).map { x - Float($0) * 1e-3 })
            let e = expNonPositive(lanes)
            for i in 0..<8 where lanes[i] >= -87 {
                let ref = Foundation.exp(Double(lanes[i]))
                worst = max(worst, abs(Double(e[i]) - ref) / (ref * Double(Float.ulpOfOne)))
            }
            x += 0.0123
        }
        XCTAssertLessThan(worst, 2, "relative error in units of float epsilon")
        XCTAssertEqual(expNonPositive(SIMD8(repeating: 0))[3], 1)
        XCTAssertLessThan(expNonPositive(SIMD8(repeating: -1000))[0], 1e-37)  // no NaN, no overflow
    }

    func testSoftmaxRowsAgainstDoubleReference() {
        var rng = Xoshiro256StarStar(seed: 11)
        for cols in [1, 7, 8, 13, 200] {
            let rows = 3
            var x = (0..<(rows * cols)).map { _ in Float(rng.normal() * 4) }
            let ref: [Double] = (0..<rows).flatMap { r -> [Double] in
                let row = x[(r * cols)..<((r + 1) * cols)].map(Double.init)
                let m = row.max()!
                let e = row.map { Foundation.exp($0 - m) }
                let s = e.reduce(0, +)
                return e.map { $0 / s }
            }
            x.withUnsafeMutableBufferPointer { softmaxRows($0.baseAddress!, rows: rows, cols: cols) }
            for i in 0..<x.count {
                XCTAssertEqual(Double(x[i]), ref[i], accuracy: 2e-7 + 1e-6 * ref[i], "cols \(cols), i \(i)")
            }
        }
    }

    func testSoftmaxBackwardRowAgainstDoubleReference() {
        var rng = Xoshiro256StarStar(seed: 12)
        for cols in [3, 8, 13, 200] {
            var p = (0..<cols).map { _ in Float(rng.normal()) }
            p.withUnsafeMutableBufferPointer { softmaxRows($0.baseAddress!, rows: 1, cols: cols) }
            var d = (0..<cols).map { _ in Float(rng.normal()) }
            let dot = zip(p, d).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let ref = zip(p, d).map { Double($0) * (Double($1) - dot) * 0.25 }
            p.withUnsafeBufferPointer { pp in
                d.withUnsafeMutableBufferPointer {
                    softmaxBackwardRow(pp.baseAddress!, $0.baseAddress!, cols: cols, scale: 0.25)
                }
            }
            for j in 0..<cols { XCTAssertEqual(Double(d[j]), ref[j], accuracy: 1e-6, "cols \(cols), j \(j)") }
        }
    }

    func testInferenceAttentionEqualsTrainingAttention() {
        // Inference divides the product with V by the softmax sums; training normalises the scores first; the SIMD
        // path stacks the projections that share an input and runs the fused kernel per head. Inputs: one shared
        // (the decoder block's first attention), values = keys ≠ queries (the transformer block's), all distinct.
        // Width 16 keeps the three projection weights one block in the store (C² a multiple of its 16-float
        // alignment); width 6 pads them apart, so the SIMD path stacks a copy.
        for (C, heads) in [(16, 4), (6, 2)] {
            let store = ParameterStore()
            let att = SelfAttention(store, "a", embed: C, heads: heads)
            var initRNG = Xoshiro256StarStar(seed: 5)
            store.finalize(rng: &initRNG)
            let N = 3
            let T = 13
            var rng = Xoshiro256StarStar(seed: 6)
            let x = (0..<(3 * N * T * C)).map { _ in Float(rng.normal()) }
            for (vi, ki, qi) in [(0, 0, 0), (0, 0, 1), (0, 1, 2)] {
                func run(_ mode: ForwardMode) -> [Float] {
                    var out = [Float](repeating: 0, count: N * T * C)
                    x.withUnsafeBufferPointer { xp in
                        let p = xp.baseAddress!
                        out.withUnsafeMutableBufferPointer {
                            att.forward(
                                values: p + vi * N * T * C, keys: p + ki * N * T * C, queries: p + qi * N * T * C,
                                out: $0.baseAddress!, batch: N, length: T, mode: mode)
                        }
                    }
                    return out
                }
                let outTrain = run(.training(.blas))
                for (name, out) in [
                    ("blas inference", run(.inference(.blas))),
                    ("simd inference", run(.inference(.simd)))
                ] {
                    for i in 0..<outTrain.count {
                        let tolerance = 1e-5 * max(1, abs(outTrain[i]))
                        XCTAssertEqual(
                            out[i], outTrain[i], accuracy: tolerance, "\(name), width \(C), inputs \(vi)\(ki)\(qi)")
                    }
                }
            }
        }
    }

    /// C = A·op(B) by the worker split (rows, or columns when A has few rows) against a double loop.
    func testSgemmSplitsMatchReference() {
        var rng = Xoshiro256StarStar(seed: 9)
        for (m, n, k, transB) in [
            (1, 1024, 2048, true), (2, 640, 4096, false), (32, 1024, 128, true), (64, 96, 512, false), (3, 5, 7, false)
        ] {
            let a = (0..<(m * k)).map { _ in Float(rng.normal()) }
            let b = (0..<(k * n)).map { _ in Float(rng.normal()) }
            var c = [Float](repeating: 0, count: m * n)
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    c.withUnsafeMutableBufferPointer {
                        sgemm(
                            transB: transB, m: m, n: n, k: k, a: ap.baseAddress!, b: bp.baseAddress!, c: $0.baseAddress!
                        )
                    }
                }
            }
            for i in 0..<m {
                for j in 0..<n {
                    var s = 0.0
                    for l in 0..<k { s += Double(a[i * k + l]) * Double(transB ? b[j * k + l] : b[l * n + j]) }
                    XCTAssertEqual(
                        Double(c[i * n + j]), s, accuracy: 1e-4 * Double(k).squareRoot(), "\(m)×\(n)×\(k) at \(i),\(j)")
                }
            }
        }
    }

    func testSgemmProfileCountsCallsFlopsAndShapes() {
        let (m, n, k) = (48, 640, 96)  // column split over the workers: one timed call per worker
        let a = [Float](repeating: 0.5, count: m * k)
        let b = [Float](repeating: 2, count: k * n)
        var c = [Float](repeating: 0, count: m * n)
        SgemmProfile.reset()
        SgemmProfile.enabled = true
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer {
                    sgemm(m: m, n: n, k: k, a: ap.baseAddress!, b: bp.baseAddress!, c: $0.baseAddress!)
                }
            }
        }
        SgemmProfile.enabled = false
        let totals = SgemmProfile.totals
        XCTAssertEqual(totals.flops, 2 * Double(m * n * k))  // the split calls add up to the whole product
        XCTAssertEqual(totals.calls, SgemmProfile.shapes.reduce(0) { $0 + $1.calls })
        XCTAssertEqual(SgemmProfile.shapes.reduce(0) { $0 + $1.shape.flops * Double($1.calls) }, 2 * Double(m * n * k))
        XCTAssertTrue(
            SgemmProfile.shapes.allSatisfy { $0.shape.m == m && $0.shape.k == k }, "columns are split, rows are not")
        XCTAssertGreaterThan(totals.seconds, 0)
        XCTAssertTrue(c.allSatisfy { $0 == Float(k) })  // timing does not change the product
        SgemmProfile.reset()
        XCTAssertEqual(SgemmProfile.totals.calls, 0)
        XCTAssertTrue(SgemmProfile.shapes.isEmpty)
    }
}
