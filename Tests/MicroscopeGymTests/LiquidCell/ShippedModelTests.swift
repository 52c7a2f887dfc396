import Foundation
import XCTest
import LeonardoSim
@testable import MicroscopeGym

/// Tests of the shipped default simulator (Environments/models): it loads by default, carries a dose
/// calibration, and moving along its dose axis changes the generated dynamics monotonically, in the direction of
/// the LPTEM-like data it was trained on (higher dose: less anti-correlated steps, larger MSD exponent, more large
/// steps).
final class ShippedModelTests: XCTestCase {
    func testShippedEnvironmentAndCalibration() throws { try checkDoseResponse("LiquidCell-v0", minimumR: 0.2) }

    /// The model trained on the real trajectories (stationary decoder): its dose axis keeps |r| ≥ 0.55.
    func testRealDataModelDoseResponse() throws { try checkDoseResponse("LiquidCell-v2", minimumR: 0.55) }

    func checkDoseResponse(_ id: String, minimumR: Double) throws {
        let env = try makeEnvironment(id: id)
        let cal = try XCTUnwrap(env.model.doseCalibration)
        XCTAssertEqual(
            env.model.config.embedSize, LeonardoConfig.paper.embedSize, "the shipped model has the paper's size")
        XCTAssertGreaterThanOrEqual(abs(cal.pearsonR), minimumR, "the dose axis correlates with log dose")
        XCTAssertEqual(
            abs(cal.pearsonR), cal.correlations.map { abs($0) }.max()!, accuracy: 1e-12,
            "the chosen latent is the most correlated one")

        var summaries: [MotionSummary] = []
        for dose in [1.0, 10.0, 100.0] {
            var rng = Xoshiro256StarStar(seed: 99)
            let n = 150
            let L = env.model.config.latentDim
            var z = (0..<(n * L)).map { _ in Float(rng.normal()) }
            for i in 0..<n { z[i * L + cal.index] = Float(cal.latent(forDoseRate: dose)) }
            let r = env.model.decode(z: z, rng: &rng)
            summaries.append(MotionSummary(TrajectorySet(trajectories: r, count: n, length: env.model.config.length)))
        }
        for k in 1..<3 {
            XCTAssertGreaterThan(summaries[k].vacf[0], summaries[k - 1].vacf[0], "\(id): VACF(1) rises with dose")
            XCTAssertGreaterThan(
                summaries[k].msdExponent, summaries[k - 1].msdExponent, "\(id): MSD exponent rises with dose")
            XCTAssertGreaterThan(
                summaries[k].tailFraction, summaries[k - 1].tailFraction, "\(id): more large steps with dose")
        }
    }
}
