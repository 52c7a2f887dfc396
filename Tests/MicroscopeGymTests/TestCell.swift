import Foundation
import XCTest
@testable import LeonardoSim
@testable import MicroscopeGym

/// A small random LEONARDO (T = 32, 12 latents) with a synthetic dose calibration on the z4 axis, and the
/// shipped LiquidCell-v0 spec adapted to it: fast enough for debug-build tests.
enum TestCell {
    static let calibration = DoseCalibration(
        index: 3, slope: -0.8, intercept: 0.8, pearsonR: -0.6, residualStd: 0.3,
        correlations: [Double](repeating: 0, count: 12), count: 100, doseRange: [1, 100])
    static let model: Leonardo = {
        var c = LeonardoConfig.tiny
        c.length = 32
        c.latentDim = 12
        let m = try! Leonardo(config: c, seed: 3)
        m.doseCalibration = calibration
        return m
    }()
    /// The same architecture and calibration with a fitted latent prior whose dose coordinate (index 3) is
    /// correlated with coordinates 0 and 5 (for `latent.prior = fitted`).
    static let fittedModel: Leonardo = {
        var c = LeonardoConfig.tiny
        c.length = 32
        c.latentDim = 12
        let m = try! Leonardo(config: c, seed: 3)
        m.doseCalibration = calibration
        var sigma = [Double](repeating: 0, count: 144)
        for j in 0..<12 { sigma[j * 12 + j] = j == 3 ? 1.5 : 0.5 }
        sigma[3 * 12 + 0] = 0.6
        sigma[0 * 12 + 3] = 0.6
        sigma[3 * 12 + 5] = -0.45
        sigma[5 * 12 + 3] = -0.45
        sigma[0 * 12 + 5] = 0.1
        sigma[5 * 12 + 0] = 0.1
        m.latentPrior = LatentPrior(
            mean: (0..<12).map { 0.1 * Double($0) - 0.4 }, cholesky: try! choleskyLower(sigma, 12), count: 1000)
        return m
    }()
    static func spec(_ id: String = "LiquidCell-v0", _ edit: (inout LiquidCellSpec) -> Void = { _ in })
        -> LiquidCellSpec
    {
        var s = try! EnvironmentRegistry.spec(id: id)
        s.segmentFrames = 32
        edit(&s)
        return s
    }
    static func make(_ id: String = "LiquidCell-v0", _ edit: (inout LiquidCellSpec) -> Void = { _ in }) -> LiquidCell {
        try! LiquidCell(spec: spec(id, edit), model: model)
    }
}

/// Runs the rest of `test` with `models` on `kernels` (e.g. the BLAS inference path, the arithmetic the BLAS golden
/// traces were recorded with; the default path is `simd`); each model's choice comes back when the test ends.
func useKernels(_ kernels: KernelChoice, for models: [Leonardo], _ test: XCTestCase) {
    let saved = models.map(\.kernels)
    for m in models { m.kernels = kernels }
    test.addTeardownBlock { for (m, k) in zip(models, saved) { m.kernels = k } }
}

/// `useKernels(.blas, …)` for the test cell's models.
func useBLASPath(_ test: XCTestCase) { useKernels(.blas, for: [TestCell.model, TestCell.fittedModel], test) }

/// Golden traces hold for the OpenBLAS kernel they were recorded with (`OpenBLAS.goldenKernels`): other kernels sum
/// in other orders. Fails with what to do where that kernel can run but another one is loaded; skips, saying why,
/// where the CPU cannot run it.
func requireGoldenBLASKernel(file: StaticString = #filePath, line: UInt = #line) throws {
    let kernel = OpenBLAS.kernel
    guard !OpenBLAS.goldenKernels.contains(kernel) else { return }
    let flags = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    guard flags.contains(" avx2") && flags.contains(" fma") else {
        throw XCTSkip("golden traces are recorded with OpenBLAS's Haswell kernel, which this CPU cannot run: \(kernel)")
    }
    XCTFail(
        "golden traces are recorded with OpenBLAS's Haswell kernel and this process loaded \(kernel): "
            + "run with OPENBLAS_CORETYPE=Haswell (scripts/test.sh sets it)", file: file, line: line)
    throw XCTSkip("the golden comparison needs the Haswell kernel")
}
