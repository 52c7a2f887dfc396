import XCTest
@testable import LeonardoSim

/// The Swift model against the independent NumPy reference (tools/reference_leonardo.py).
final class ReferenceTests: XCTestCase {
    var model: Leonardo!
    var io: HDF5File!

    override func setUpWithError() throws {
        model = try Leonardo.load(Fixtures.path("tiny_reference_model.h5"))
        io = try HDF5File.open(Fixtures.path("tiny_reference_io.h5"))
    }

    func testEncoderMatchesReference() throws {
        let x = try io.readFloat("input").data
        let (mu, lv) = model.encode(x)
        assertClose(mu, try io.readFloat("mu").data, rel: 1e-4, "mu")
        assertClose(lv, try io.readFloat("logvar").data, rel: 1e-4, "logvar")
    }

    func testDecoderMatchesReferenceReleasedLoop() throws {
        XCTAssertFalse(model.config.chainDecoderBlocks)
        let out = model.decode(z: try io.readFloat("z").data)
        assertClose(out, try io.readFloat("decoded").data, rel: 1e-4, "decoded")
    }

    func testDecoderMatchesReferenceChainedBlocks() throws {
        var cfg = model.config
        cfg.chainDecoderBlocks = true
        let chained = try Leonardo(config: cfg)
        let f = try HDF5File.open(Fixtures.path("tiny_reference_model.h5"))
        try LeonardoCheckpoint.loadParameters(into: chained.parameters, from: f)
        let out = chained.decode(z: try io.readFloat("z").data)
        assertClose(out, try io.readFloat("decoded_chained").data, rel: 1e-4, "decoded (chained)")
        // the released loop and the chained one really differ
        let released = try io.readFloat("decoded").data
        XCTAssertGreaterThan(zip(out, released).map { abs($0 - $1) }.max()!, 1e-2)
    }

    func testDecodeIsDeterministicAndChunkingInvariant() throws {
        let z = try io.readFloat("z").data
        let a = model.decode(z: z)
        XCTAssertEqual(a, model.decode(z: z), "same input, same batch: bit-identical")
        // Another chunking changes BLAS blocking and so float rounding, never more than that.
        model.decodeChunk = 2
        assertClose(model.decode(z: z), a, rel: 1e-5, "chunked decode")
    }

    func testLossTermsMatchReference() throws {
        let r = try io.readFloat("loss_input").data
        let rh = try io.readFloat("loss_reconstruction").data
        let mu = try io.readFloat("loss_mu").data
        let lv = try io.readFloat("loss_logvar").data
        let expected = try io.readDouble("loss_terms").data
        let T = model.config.length
        let n = r.count / (2 * T)
        let loss = PhysicsLoss(length: T)
        let terms = r.withUnsafeBufferPointer { a in
            rh.withUnsafeBufferPointer { b in
                mu.withUnsafeBufferPointer { m in
                    lv.withUnsafeBufferPointer { l in
                        loss.evaluate(
                            input: a.baseAddress!, reconstruction: b.baseAddress!, mu: m.baseAddress!,
                            logvar: l.baseAddress!, batch: n, latent: 3)
                    }
                }
            }
        }
        XCTAssertEqual(expected.count, 11, "the reference holds the paper's 11 terms")
        for (term, value) in zip(LossTerm.paperTerms, expected) {
            XCTAssertEqual(terms[term], value, accuracy: 1e-6 * max(1, abs(value)), term.name)
        }
        for term in LossTerm.allCases where !term.isPaperTerm {
            XCTAssertEqual(terms[term], 0, "\(term.label) is off (weight 0) in the paper's loss")
        }
        let total = zip(LossTerm.paperTerms, expected).reduce(0) { $0 + LossWeights()[$1.0] * $1.1 }
        XCTAssertEqual(terms.total, total, accuracy: 1e-6 * total)
    }

    func testStatisticsMatchReference() throws {
        let r = try io.readFloat("input").data
        let T = model.config.length
        let s = TrajectoryStatistics(trajectory: Array(r[0..<(2 * T)]))
        let e = try io.readDouble("stats0_scalars").data
        let got = [s.meanStep, s.stepVariance, s.stepSkewness, s.stepKurtosis, s.medianStep, s.xyStepCorrelation]
        for i in 0..<6 { XCTAssertEqual(got[i], e[i], accuracy: 1e-9 * max(1, abs(e[i]))) }
        let v = try io.readDouble("stats0_vacf").data
        let p = try io.readDouble("stats0_pacf").data
        XCTAssertEqual(s.velocityAutocorrelation.count, v.count)
        XCTAssertEqual(s.positionAutocorrelation.count, p.count)
        for i in 0..<v.count { XCTAssertEqual(s.velocityAutocorrelation[i], v[i], accuracy: 1e-9) }
        for i in 0..<p.count { XCTAssertEqual(s.positionAutocorrelation[i], p[i], accuracy: 1e-9) }
    }

    func testPaperSizeModelHasReleasedParameterCount() throws {
        let m = try Leonardo(config: .paper)
        XCTAssertEqual(m.parameterCount, 8_946_410)
        XCTAssertEqual(
            m.parameters.ref(named: "decoder.bottleneck_decoding.convtranspose1.weight")?.shape, [32, 128, 7])
        XCTAssertEqual(m.parameters.ref(named: "encoder.bottleneck.linear1.weight")?.shape, [512, 3200])
        XCTAssertEqual(m.parameters.ref(named: "layernorm.weight")?.shape, [200])
    }
}
