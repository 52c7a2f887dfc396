import Foundation
import XCTest

@testable import LeonardoSim

/// `Linear.forwardFewRows` (the few-rows SIMD kernel) against a double-precision reference, at every instruction
/// set the CPU runs, on shapes with odd widths and outputs and with and without bias.
final class FewRowsLinearTests: XCTestCase {
    func testMatchesTheDoublePrecisionReferenceAtEverySupportedLevel() {
        // (rows, in, out, bias): the decoder's bottleneck (1024 → 6400) at batch 3, an odd number of outputs, widths
        // that are no multiple of 8 or 16, a single row and a single input, more rows than one pass of four.
        let shapes = [
            (3, 1024, 6400, true), (5, 37, 11, true), (1, 1, 3, false), (16, 129, 64, false), (7, 24, 2, true)
        ]
        for level in KernelLevel.supported {
            var rng = Xoshiro256StarStar(seed: 31)
            for (rows, inF, outF, hasBias) in shapes {
                let store = ParameterStore()
                let layer = Linear(store, "l", inF, outF, bias: hasBias)
                store.finalize(rng: &rng)
                let x = (0..<(rows * inF)).map { _ in Float(rng.normal()) }
                var y = [Float](repeating: .nan, count: rows * outF)
                layer.forwardFewRows(x, &y, rows: rows, level: level)
                let w = store.value(layer.weight)
                var worst = 0.0
                for r in 0..<rows {
                    for o in 0..<outF {
                        var want = hasBias ? Double(store.value(layer.bias!)[o]) : 0
                        for i in 0..<inF { want += Double(w[o * inF + i]) * Double(x[r * inF + i]) }
                        let err = abs(Double(y[r * outF + o]) - want) / max(1, abs(want))
                        worst = max(worst, err.isNaN ? .infinity : err)
                    }
                }
                XCTAssertLessThan(worst, 1e-5, "\(level.name): rows \(rows), in \(inF), out \(outF)")
            }
        }
    }

    /// The decoder's small-batch inference under `.simd` equals its BLAS path to float rounding, on either side of
    /// `InferenceKernels.fewRows` (decode chunks as large as the batch, so the last one reaches the other kernels).
    func testDecoderSmallBatchesAgreeAcrossKernelChoices() throws {
        let leo = try Leonardo(config: .tiny, seed: 4)
        leo.decodeChunk = InferenceKernels.fewRows + 1
        var rng = Xoshiro256StarStar(seed: 8)
        for batch in [1, 3, InferenceKernels.fewRows + 1] {
            let z = (0..<(batch * leo.config.latentDim)).map { _ in Float(rng.normal()) }
            leo.kernels = .blas
            let reference = leo.decode(z: z)
            leo.kernels = .simd
            let fast = leo.decode(z: z)
            for i in 0..<reference.count {
                XCTAssertEqual(fast[i], reference[i], accuracy: 1e-4 * max(1, abs(reference[i])), "batch \(batch)")
            }
        }
    }
}
