import Foundation
import XCTest

@testable import LeonardoSim

/// `LayerNorm.forwardInference` under the SIMD kernels (`lk_layer_norm_rows`) against a double-precision reference,
/// at every instruction set the CPU runs.
final class LayerNormKernelTests: XCTestCase {
    func testMatchesTheDoublePrecisionReferenceAtEverySupportedLevel() {
        // (rows, features, offset): the model's width, widths that fill no whole vector, one feature (output = β),
        // enough rows to split over the workers, and rows far from zero mean (a one-pass variance would cancel).
        for (rows, C, offset) in [(7, 128, 0.0), (5, 13, 0.0), (3, 1, 0.0), (300, 24, 0.0), (4, 40, 1000.0)] {
            for level in KernelLevel.supported {
                let store = ParameterStore()
                let norm = LayerNorm(store, "n", C)
                var rng = Xoshiro256StarStar(seed: 47)
                store.finalize(rng: &rng)
                let g = store.value(norm.weight)
                let b = store.value(norm.bias)
                for i in 0..<C {
                    g[i] = Float(1 + 0.5 * rng.normal())
                    b[i] = Float(rng.normal())
                }
                let x = (0..<(rows * C)).map { _ in Float(offset + 3 * rng.normal()) }
                var y = [Float](repeating: .nan, count: rows * C)
                norm.forwardInference(x, &y, rows: rows, kernels: KernelChoice(.simd, level: level))
                var worst = 0.0
                for r in 0..<rows {
                    let xr = (0..<C).map { Double(x[r * C + $0]) }
                    let mean = xr.reduce(0, +) / Double(C)
                    let variance = xr.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(C)
                    for i in 0..<C {
                        let want = (xr[i] - mean) / (variance + 1e-5).squareRoot() * Double(g[i]) + Double(b[i])
                        let err = abs(Double(y[r * C + i]) - want) / max(1, abs(want))
                        worst = max(worst, err.isNaN ? .infinity : err)
                    }
                }
                // At offset 1000 a float32 sum of the row (≈ 40,000) carries errors of a few 1e-3, so the mean is off by
                // ~1e-4 of the row's spread: 3e-4 allowed there. (A one-pass E[x²] − mean² in float32 would cancel
                // 10⁶ against a variance of 9 and be off by ~0.06.)
                XCTAssertLessThan(worst, offset > 0 ? 3e-4 : 1e-5, "\(level.name): rows \(rows), C \(C)")
            }
        }
    }
}
