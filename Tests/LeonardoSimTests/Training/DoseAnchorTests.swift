import XCTest
@testable import LeonardoSim

/// The semi-supervised dose term: hand value, gradient by central differences, unlabelled rows ignored, and the
/// whole objective's μ gradient carrying it.
final class DoseAnchorTests: XCTestCase {
    let calibration = DoseCalibration(
        index: 1, slope: -1.5, intercept: 2, pearsonR: -0.6, residualStd: 0.3,
        correlations: [0, -0.6, 0], count: 10, doseRange: [1, 100])

    func testHandValueAndGradient() {
        let anchor = DoseAnchor(weight: 3, calibration: calibration)
        // Two trajectories, latent 3; the first at dose 10 (target 0.5), the second unlabelled.
        var mu: [Float] = [0.4, 1.5, -2, 9, 9, 9]
        let dose: [Float] = [10, .nan]
        var dMu = [Float](repeating: 0, count: 6)
        let value = anchor.apply(mu: mu, dose: dose, dMu: &dMu, batch: 2, latent: 3)
        XCTAssertEqual(value, (1.5 - 0.5) * (1.5 - 0.5) / 2, accuracy: 1e-9)
        XCTAssertEqual(dMu, [0, Float(2 * 3 * 1.0 / 2), 0, 0, 0, 0], "only the labelled row's dose coordinate")
        let h: Float = 1e-3
        var scratch = [Float](repeating: 0, count: 6)
        mu[1] += h
        let up = anchor.apply(mu: mu, dose: dose, dMu: &scratch, batch: 2, latent: 3)
        mu[1] -= 2 * h
        let down = anchor.apply(mu: mu, dose: dose, dMu: &scratch, batch: 2, latent: 3)
        XCTAssertEqual(3 * (up - down) / Double(2 * h), Double(dMu[1]), accuracy: 1e-3)
    }

    func testObjectiveAddsTheTermToTotalAndGradient() throws {
        var cfg = LeonardoConfig.tiny
        cfg.length = 12
        let model = try Leonardo(config: cfg, seed: 3)
        let B = 3
        let L = cfg.latentDim
        let x = randomWalks(B, length: 12, seed: 8)
        let eps = [Float](repeating: 0, count: B * L)
        let loss = PhysicsLoss(length: 12)
        let dose: [Float] = [1, .nan, 100]
        var cal = calibration
        cal.index = 2
        let anchor = DoseAnchor(weight: 5, calibration: cal)
        let plain = model.lossAndGradients(input: x, eps: eps, batch: B, loss: loss)
        let gPlain = Array(UnsafeBufferPointer(start: model.parameters.grads, count: model.parameters.count))
        let anchored = dose.withUnsafeBufferPointer { dp in
            model.lossAndGradients(input: x, eps: eps, batch: B, loss: loss, doseAnchor: (anchor, dp.baseAddress!))
        }
        let gAnchored = Array(UnsafeBufferPointer(start: model.parameters.grads, count: model.parameters.count))
        XCTAssertGreaterThan(anchored.doseAnchor, 0)
        XCTAssertEqual(anchored.total, plain.total + 5 * anchored.doseAnchor, accuracy: 1e-9 * max(1, plain.total))
        // The term acts on μ, so the encoder's μ head gets a different gradient.
        let encoderRefs = model.parameters.refs.filter { $0.name.hasPrefix("encoder.z_means") }
        XCTAssertTrue(
            encoderRefs.contains { r in (0..<r.count).contains { gPlain[r.offset + $0] != gAnchored[r.offset + $0] } },
            "the encoder's μ head receives the term's gradient")
    }
}
