import Foundation
import LeonardoKernels
import XCTest

@testable import LeonardoSim

/// `lk_linear_sparse_input` (a linear layer whose rows read only the weight columns of its nonzero inputs)
/// against a double-precision reference, bit-identical across instruction sets, and where `Linear` takes it.
final class SparseInputLinearTests: XCTestCase {
    /// A row of `inF` inputs of which about `zeroShare` are exactly 0 (as a ReLU leaves them), the rest normal.
    func sparseRow(_ inF: Int, zeroShare: Double, rng: inout Xoshiro256StarStar) -> [Float] {
        (0..<inF).map { _ in
            let v = Float(rng.normal())
            return rng.uniform(0, 1) < zeroShare ? 0 : v
        }
    }

    func testMatchesTheDoublePrecisionReferenceAndIsIdenticalAcrossLevels() {
        // (in, out, bias, zero share): the decoder's bottleneck, an output count that fills no tile, one input,
        // no bias, an all-zero row (the bias alone), a dense row (no zeros).
        let shapes = [
            (1024, 6400, true, 0.5), (37, 11, true, 0.3), (1, 3, false, 0.0), (129, 300, false, 0.6),
            (64, 130, true, 1.0), (50, 257, true, 0.0)
        ]
        var rng = Xoshiro256StarStar(seed: 41)
        for (inF, outF, hasBias, zeros) in shapes {
            let w = (0..<(outF * inF)).map { _ in Float(rng.uniform(-0.1, 0.1)) }
            let b = hasBias ? (0..<outF).map { _ in Float(rng.uniform(-1, 1)) } : []
            let rows = 3
            let x = (0..<rows).flatMap { _ in sparseRow(inF, zeroShare: zeros, rng: &rng) }
            var wb = [Float](repeating: .nan, count: Int(lk_sparse_input_weights_size(Int32(inF), Int32(outF))))
            lk_sparse_input_arrange(w, Int32(inF), Int32(outF), &wb)
            let tiles = Int32((outF + Int(LK_SPARSE_TILE) - 1) / Int(LK_SPARSE_TILE))
            var values = [Float](repeating: 0, count: rows * inF)
            var indices = [Int32](repeating: 0, count: rows * inF)
            func product(_ x: [Float], rows: Int, level: KernelLevel) -> [Float] {
                var y = [Float](repeating: .nan, count: rows * outF)
                // two calls on halves of the tiles, as the workers split them
                for (lo, hi) in [(Int32(0), tiles / 2), (tiles / 2, tiles)] {
                    b.withUnsafeBufferPointer { bp in
                        lk_linear_sparse_input(
                            x, Int32(rows), Int32(inF), wb, Int32(outF), hasBias ? bp.baseAddress : nil, &y,
                            Int32(outF), lo, hi, &values, &indices, Int32(level.rawValue))
                    }
                }
                return y
            }
            var results: [[Float]] = []
            for level in KernelLevel.supported {
                let y = product(x, rows: rows, level: level)
                var worst = 0.0
                for r in 0..<rows {
                    for o in 0..<outF {
                        var want = hasBias ? Double(b[o]) : 0
                        for i in 0..<inF { want += Double(w[o * inF + i]) * Double(x[r * inF + i]) }
                        let err = abs(Double(y[r * outF + o]) - want) / max(1, abs(want))
                        worst = max(worst, err.isNaN ? .infinity : err)
                    }
                }
                XCTAssertLessThan(worst, 1e-5, "\(level.name): in \(inF), out \(outF)")
                // a row alone gives the bits it gets beside the others
                let alone = product(Array(x[inF..<(2 * inF)]), rows: 1, level: level)
                XCTAssertEqual(alone.map(\.bitPattern), y[outF..<(2 * outF)].map(\.bitPattern), "\(level.name)")
                results.append(y)
            }
            for (level, y) in zip(KernelLevel.supported, results) {
                XCTAssertEqual(
                    y.map(\.bitPattern), results[0].map(\.bitPattern), "\(level.name) differs from portable C")
            }
        }
    }

    /// `Linear.forwardInference` takes the sparse kernel on up to `InferenceKernels.fewRows` rows only in a frozen
    /// store (and the few-rows kernel otherwise), and both agree to float rounding.
    func testLinearUsesTheSparseKernelOnlyWhenFrozen() {
        var rng = Xoshiro256StarStar(seed: 42)
        let (inF, outF, rows) = (1024, 640, 3)
        let store = ParameterStore()
        let layer = Linear(store, "l", inF, outF)
        layer.sparseInput = true
        store.finalize(rng: &rng)
        XCTAssertGreaterThan(inF * outF, InferenceKernels.rowsKernelWeights)
        let x = (0..<rows).flatMap { _ in sparseRow(inF, zeroShare: 0.5, rng: &rng) }
        let level = KernelLevel.best
        var few = [Float](repeating: .nan, count: rows * outF)
        layer.forwardFewRows(x, &few, rows: rows, level: level)
        var sparse = few
        layer.forwardSparseInput(x, &sparse, rows: rows, level: level)
        var y = few
        layer.forwardInference(x, &y, rows: rows, kernels: KernelChoice(.simd))
        XCTAssertEqual(y.map(\.bitPattern), few.map(\.bitPattern), "an unfrozen store keeps the few-rows kernel")
        store.freeze()
        XCTAssertTrue(store.isFrozen)
        layer.forwardInference(x, &y, rows: rows, kernels: KernelChoice(.simd))
        XCTAssertEqual(y.map(\.bitPattern), sparse.map(\.bitPattern), "a frozen store takes the sparse kernel")
        for o in 0..<(rows * outF) { XCTAssertEqual(sparse[o], few[o], accuracy: 1e-5 * max(1, abs(few[o]))) }
    }

    /// A frozen paper-size decoder (the authors' variant, whose bottleneck takes the sparse kernel) decodes like the
    /// BLAS path to float rounding, and a trajectory decodes to the same bits alone and in a batch.
    func testFrozenPaperDecoderAgreesWithTheBLASPath() throws {
        let leo = try Leonardo(config: .paper, seed: 5)
        var rng = Xoshiro256StarStar(seed: 9)
        let z = (0..<leo.config.latentDim).map { _ in Float(rng.normal()) }
        leo.kernels = .blas
        let reference = leo.decode(z: z)
        leo.freezeWeights()
        leo.kernels = .simd
        let fast = leo.decode(z: z)
        for i in 0..<reference.count {
            XCTAssertEqual(fast[i], reference[i], accuracy: 1e-4 * max(1, abs(reference[i])))
        }
        let others = (0..<(2 * leo.config.latentDim)).map { _ in Float(rng.normal()) }
        let batch = leo.decode(z: others.prefix(leo.config.latentDim) + z + others.suffix(leo.config.latentDim))
        let step = fast.count
        XCTAssertEqual(batch[step..<(2 * step)].map(\.bitPattern), fast.map(\.bitPattern))
    }
}
