import XCTest
@testable import LeonardoSim

final class CheckpointTests: XCTestCase {
    func testSaveLoadDecodeIsBitIdentical() throws {
        let model = try Leonardo(config: .tiny, seed: 42)
        let path = temporaryPath("roundtrip.h5")
        try model.save(path)
        let loaded = try Leonardo.load(path)
        XCTAssertEqual(loaded.config, model.config)
        var rng = Xoshiro256StarStar(seed: 1)
        let z = (0..<(6 * 3)).map { _ in Float(rng.normal()) }
        XCTAssertEqual(model.decode(z: z), loaded.decode(z: z))
        XCTAssertEqual(model.parameters.snapshot(), loaded.parameters.snapshot())
    }

    func testPaperSizeCheckpointRoundTrip() throws {
        let model = try Leonardo(config: .paper, seed: 7)
        let path = temporaryPath("paper.h5")
        try model.save(path)
        let loaded = try Leonardo.load(path)
        XCTAssertEqual(loaded.parameterCount, 8_946_410)
        let z = [Float](repeating: 0.3, count: 12)
        XCTAssertEqual(model.decode(z: z), loaded.decode(z: z))
    }

    func testFloat16StorageRoundTripsToHalfPrecision() throws {
        let model = try Leonardo(config: .tiny, seed: 5)
        model.doseCalibration = DoseCalibration(
            index: 1, slope: -0.3, intercept: 0.2, pearsonR: -0.5, residualStd: 0.4,
            correlations: [0.1, -0.5, 0.2], count: 9, doseRange: [1, 100])
        let path = temporaryPath("half.h5")
        try LeonardoCheckpoint.save(model, to: path, float16: true)
        let back = try Leonardo.load(path)
        XCTAssertEqual(back.doseCalibration, model.doseCalibration)
        for r in model.parameters.refs {
            for i in 0..<r.count {
                // HDF5's float → half conversion rounds to within one half-precision ulp (its tie rule differs
                // from Swift's round-to-nearest-even in rare cases), i.e. relative error ≤ 2⁻¹⁰.
                let v = model.parameters.value(r)[i]
                let got = back.parameters.value(back.parameters.ref(named: r.name)!)[i]
                XCTAssertEqual(got, v, accuracy: abs(v) * 0x1p-10 + 1e-7, "\(r.name)[\(i)]")
                XCTAssertEqual(got, Float(Float16(got)), "\(r.name)[\(i)] is not a half-precision value")
            }
        }
        let full = temporaryPath("full.h5")
        try LeonardoCheckpoint.save(model, to: full)
        let a = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        let b = try FileManager.default.attributesOfItem(atPath: full)[.size] as! Int
        XCTAssertLessThan(a, b)
    }

    func testTruncatedFileIsRejectedClearly() throws {
        let model = try Leonardo(config: .tiny, seed: 1)
        let path = temporaryPath("truncated.h5")
        try model.save(path)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try Leonardo.load(path)) { error in
            XCTAssertTrue("\(error)".contains(path), "\(error)")
        }
    }

    func testMissingFile() {
        XCTAssertThrowsError(try Leonardo.load("/nonexistent/model.h5")) { error in
            XCTAssertEqual(error as? LeonardoError, .fileNotFound("/nonexistent/model.h5"))
        }
    }

    func testShapeMismatchNamesTheParameter() throws {
        let model = try Leonardo(config: .tiny, seed: 1)
        let path = temporaryPath("mismatch.h5")
        try model.save(path)
        let f = try HDF5File.open(path, writable: true)
        try f.write("decoder.conv_out.weight", [Float](repeating: 0, count: 10), shape: [2, 5])
        f.close()
        XCTAssertThrowsError(try Leonardo.load(path)) { error in
            XCTAssertEqual(
                error as? LeonardoError,
                .shapeMismatch(file: path, name: "decoder.conv_out.weight", expected: [2, 8, 3], found: [2, 5]))
        }
    }

    func testMissingParameterIsNamed() throws {
        let model = try Leonardo(config: .tiny, seed: 1)
        let path = temporaryPath("missing.h5")
        try writeHDF5Atomically(path) { f in
            try f.setAttribute("config", String(decoding: try JSONEncoder().encode(model.config), as: UTF8.self))
            for r in model.parameters.refs.dropFirst() {
                try f.write(
                    r.name, UnsafeBufferPointer(start: model.parameters.value(r), count: r.count), shape: r.shape)
            }
        }
        XCTAssertThrowsError(try Leonardo.load(path)) { error in
            XCTAssertEqual(error as? LeonardoError, .missingDataset(file: path, name: "encoder.conv1.weight"))
        }
    }

    func testNaNInCheckpointIsRejected() throws {
        let model = try Leonardo(config: .tiny, seed: 1)
        model.parameters.value(model.parameters.ref(named: "encoder.z_var.bias")!)[1] = .nan
        let path = temporaryPath("nan.h5")
        try model.save(path)
        XCTAssertThrowsError(try Leonardo.load(path)) { error in
            XCTAssertEqual(error as? LeonardoError, .nonFinite(file: path, name: "encoder.z_var.bias"))
        }
    }

    func testAtomicWriteKeepsPreviousFileOnFailure() throws {
        let model = try Leonardo(config: .tiny, seed: 1)
        let path = temporaryPath("atomic.h5")
        try model.save(path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        struct Boom: Error {}
        XCTAssertThrowsError(
            try writeHDF5Atomically(path) { f in
                try f.write("partial", [Float](repeating: 1, count: 4), shape: [4])
                throw Boom()
            })
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before)
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        XCTAssertFalse(
            try FileManager.default.contentsOfDirectory(atPath: dir).contains { $0.contains("atomic.h5.tmp") })
    }

    func testTrajectorySetRoundTripAndValidation() throws {
        let walks = randomWalks(3, length: 10, seed: 2)
        let set = TrajectorySet(
            trajectories: walks, count: 3, length: 10, dose: [1, 2, 3], labels: [0, 1, 0],
            labelNames: ["a", "b"], alpha: nil, attributes: ["generator": "test"])
        let path = temporaryPath("set.h5")
        try set.write(path)
        XCTAssertEqual(try TrajectorySet.read(path), set)
        let bad = temporaryPath("bad.h5")
        try writeHDF5Atomically(bad) { f in
            try f.write("trajectories", [Float](repeating: 0, count: 12), shape: [2, 2, 3])
        }
        XCTAssertThrowsError(try TrajectorySet.read(bad)) { error in
            XCTAssertTrue("\(error)".contains("expected N×T×2"), "\(error)")
        }
        let segs = try set.segmented(window: 4, subsample: 2)
        XCTAssertEqual(segs.count, 3)  // 10 frames → 5 after subsampling → one 4-frame window each
        XCTAssertEqual(segs.dose, [1, 2, 3])
        XCTAssertEqual(Array(segs.trajectories[0..<4]), [walks[0], walks[1], walks[4], walks[5]])
    }

    func testNormalizationIsInvertible() {
        let raw: [Float] = [3, 10, 5, 14, 4, 12]  // T = 3
        let (n, off, sc) = TrajectoryNormalization.normalize(raw, length: 3)
        XCTAssertEqual(n, [0, 0, 0.5, 1, 0.25, 0.5])  // x range 2, y range 4: both divided by 4
        XCTAssertEqual(off, [3, 10])
        XCTAssertEqual(sc, [4])
        XCTAssertEqual(TrajectoryNormalization.denormalize(n, length: 3, offsets: off, scales: sc), raw)
    }
}

final class TrainingTests: XCTestCase {
    func makeTrainer(seed: UInt64 = 3) throws -> LeonardoTrainer {
        var cfg = LeonardoConfig.tiny
        cfg.length = 16
        let model = try Leonardo(config: cfg, seed: 9)
        var opts = TrainingOptions()
        opts.batchSize = 8
        opts.learningRate = 2e-3
        opts.epochs = 1000
        opts.seed = seed
        let data = randomWalks(64, length: 16, seed: 5, persistence: 0.3)
        return try LeonardoTrainer(model: model, data: data, options: opts)
    }

    func testTrainingLowersTheLoss() throws {
        let trainer = try makeTrainer()
        let evalData = randomWalks(32, length: 16, seed: 77, persistence: 0.3)
        let before = trainer.evaluate(evalData).total
        for _ in 0..<300 { trainer.step() }
        let after = trainer.evaluate(evalData).total
        XCTAssertLessThan(
            after, 0.5 * before, "300 steps should at least halve the held-out loss (\(before) → \(after))")
    }

    func testResumeIsBitIdentical() throws {
        let a = try makeTrainer()
        for _ in 0..<13 { a.step() }  // 13 steps: crosses an epoch boundary (8 steps per epoch)
        let path = temporaryPath("resume.h5")
        try a.saveCheckpoint(path)
        for _ in 0..<7 { a.step() }
        let b = try makeTrainer()
        try b.resume(from: path)
        XCTAssertEqual(b.state.optimizerStep, 13)
        for _ in 0..<7 { b.step() }
        XCTAssertEqual(a.model.parameters.snapshot(), b.model.parameters.snapshot())
        XCTAssertEqual(a.optimizer.m, b.optimizer.m)
        XCTAssertEqual(a.state, b.state)
    }

    func testResumeNeedsTrainingState() throws {
        let t = try makeTrainer()
        let path = temporaryPath("weights-only.h5")
        try t.model.save(path)
        XCTAssertThrowsError(try t.resume(from: path)) { XCTAssertTrue("\($0)".contains("no training state"), "\($0)") }
    }
}
