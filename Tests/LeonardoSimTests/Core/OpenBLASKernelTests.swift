import Foundation
import XCTest
@testable import LeonardoSim

/// The automatic OpenBLAS kernel choice: its rule, and that switching kernels at run time leaves products right.
final class OpenBLASKernelTests: XCTestCase {
    func testTheRuleSwitchesOnlyPreAVXFallbacksTheUserDidNotChoose() {
        XCTAssertEqual(OpenBLAS.automaticKernel(loaded: "Prescott", cpu: .avx512, userChoice: nil), "SkylakeX")
        XCTAssertEqual(OpenBLAS.automaticKernel(loaded: "Nehalem", cpu: .avx2, userChoice: nil), "Haswell")
        XCTAssertNil(OpenBLAS.automaticKernel(loaded: "Prescott", cpu: .portable, userChoice: nil), "no AVX2: keep")
        XCTAssertNil(
            OpenBLAS.automaticKernel(loaded: "Prescott", cpu: .avx512, userChoice: "Prescott"), "user's choice")
        XCTAssertNil(OpenBLAS.automaticKernel(loaded: "Haswell", cpu: .avx512, userChoice: nil), "a good kernel stays")
        XCTAssertNil(OpenBLAS.automaticKernel(loaded: "Zen", cpu: .avx2, userChoice: nil))
    }

    /// Max |C − C_ref| / max |C_ref| of a 37×53×71 product against a double-precision reference.
    func productError() -> Double {
        let (m, n, k) = (37, 53, 71)
        var rng = Xoshiro256StarStar(seed: 9)
        let a = (0..<(m * k)).map { _ in Float(rng.normal()) }
        let b = (0..<(k * n)).map { _ in Float(rng.normal()) }
        var c = [Float](repeating: 0, count: m * n)
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    sgemm(m: m, n: n, k: k, a: ap.baseAddress!, b: bp.baseAddress!, c: cp.baseAddress!)
                }
            }
        }
        var worst = 0.0
        var scale = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k { s += Double(a[i * k + p]) * Double(b[p * n + j]) }
                worst = max(worst, abs(Double(c[i * n + j]) - s))
                scale = max(scale, abs(s))
            }
        }
        return worst / scale
    }

    func testReselectingSwitchesTheKernelAndProductsStayRight() throws {
        let original = OpenBLAS.kernel
        guard dlsym(nil, "gotoblas_dynamic_init") != nil else {
            throw XCTSkip("this BLAS is not OpenBLAS's dynamic-architecture build: nothing to switch")
        }
        let variable = getenv("OPENBLAS_CORETYPE").map { String(cString: $0) }
        defer {
            OpenBLAS.reselect(original)
            XCTAssertEqual(OpenBLAS.kernel, original)
        }
        var targets = ["Prescott"]
        if KernelLevel.best >= .avx2 { targets.append("Haswell") }
        if KernelLevel.best >= .avx512 { targets.append("SkylakeX") }
        for target in targets {
            XCTAssertTrue(OpenBLAS.reselect(target), "could not switch to \(target)")
            XCTAssertEqual(OpenBLAS.kernel, target)
            XCTAssertLessThan(productError(), 1e-5, "products under \(target)")
            XCTAssertEqual(getenv("OPENBLAS_CORETYPE").map { String(cString: $0) }, variable, "variable restored")
        }
    }
}
