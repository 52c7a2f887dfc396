import Foundation
import XCTest

@testable import LeonardoSim

/// The windowed convolutions (`lk_gemm_windows`) against double-precision references written from the layer
/// definitions, at every instruction set the CPU runs.
final class WindowedConvolutionTests: XCTestCase {
    /// Largest relative error of y (N×lo×cout) against `want(n, s, o)`, NaN counting as infinite.
    func worstError(
        _ y: [Float], batch N: Int, outLength lo: Int, outChannels cout: Int, want: (Int, Int, Int) -> Double
    ) -> Double {
        var worst = 0.0
        for n in 0..<N {
            for s in 0..<lo {
                for o in 0..<cout {
                    let w = want(n, s, o)
                    let err = abs(Double(y[(n * lo + s) * cout + o]) - w) / max(1, abs(w))
                    worst = max(worst, err.isNaN ? .infinity : err)
                }
            }
        }
        return worst
    }

    /// y[n, s, o] = b[o] + Σ_{c,k} x[n, s·stride + k − pad, c]·W[o, c, k] (PyTorch Conv1d), zero outside.
    func testConv1dMatchesDoubleReference() {
        // (in, out, K, stride, pad, T, N): the decoder's conv_out (128 → 2, K 3), the classifier's strided conv,
        // outputs that fill no whole vector, more outputs than one 64-wide tile, and a strided one with three outputs
        // (the dot-product path of lk_gemm_rows).
        for (cin, cout, K, stride, pad, T, N) in [
            (128, 2, 3, 1, 1, 50, 2), (8, 16, 5, 2, 2, 23, 3), (3, 70, 3, 1, 0, 9, 1), (5, 130, 1, 1, 0, 7, 2),
            (6, 3, 3, 2, 1, 13, 2)
        ] {
            for level in KernelLevel.supported {
                let store = ParameterStore()
                let conv = Conv1d(store, "c", cin, cout, kernel: K, stride: stride, padding: pad)
                var rng = Xoshiro256StarStar(seed: 41)
                store.finalize(rng: &rng)
                let x = (0..<(N * T * cin)).map { _ in Float(rng.normal()) }
                let lo = conv.outLength(T)
                var y = [Float](repeating: .nan, count: N * lo * cout)
                conv.forwardWindows(x, &y, batch: N, length: T, level: level)
                let w = store.value(conv.weight)
                let b = store.value(conv.bias)
                let worst = worstError(y, batch: N, outLength: lo, outChannels: cout) { n, s, o in
                    var want = Double(b[o])
                    for k in 0..<K {
                        let t = s * stride + k - pad
                        guard t >= 0 && t < T else { continue }
                        for c in 0..<cin {
                            want += Double(x[(n * T + t) * cin + c]) * Double(w[(o * cin + c) * K + k])
                        }
                    }
                    return want
                }
                XCTAssertLessThan(worst, 1e-5, "\(level.name): Conv1d \(cin)→\(cout), K \(K), stride \(stride)")
            }
        }
    }

    /// y[n, s, o] = b[o] + Σ_{c,k} x[n, s + pad − k, c]·W[c, o, k] (PyTorch ConvTranspose1d, stride 1).
    func testConvTranspose1dMatchesDoubleReference() {
        // The decoder's (32 → 128, K 7, pad 3) on 200 frames and small odd shapes, pad 0 included.
        for (cin, cout, K, pad, T, N) in [(32, 128, 7, 3, 200, 2), (3, 5, 3, 1, 11, 3), (4, 17, 4, 0, 6, 1)] {
            for level in KernelLevel.supported {
                let store = ParameterStore()
                let conv = ConvTranspose1d(store, "t", cin, cout, kernel: K, padding: pad)
                var rng = Xoshiro256StarStar(seed: 43)
                store.finalize(rng: &rng)
                let x = (0..<(N * T * cin)).map { _ in Float(rng.normal()) }
                let lo = conv.outLength(T)
                var y = [Float](repeating: .nan, count: N * lo * cout)
                conv.forwardWindows(x, &y, batch: N, length: T, level: level)
                let w = store.value(conv.weight)
                let b = store.value(conv.bias)
                let worst = worstError(y, batch: N, outLength: lo, outChannels: cout) { n, s, o in
                    var want = Double(b[o])
                    for k in 0..<K {
                        let t = s + pad - k
                        guard t >= 0 && t < T else { continue }
                        for c in 0..<cin {
                            want += Double(x[(n * T + t) * cin + c]) * Double(w[(c * cout + o) * K + k])
                        }
                    }
                    return want
                }
                XCTAssertLessThan(worst, 1e-5, "\(level.name): ConvTranspose1d \(cin)→\(cout), K \(K), pad \(pad)")
            }
        }
    }
}
