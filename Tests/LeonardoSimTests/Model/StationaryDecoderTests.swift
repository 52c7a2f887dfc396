import XCTest
@testable import LeonardoSim

/// The stationary decoder variant: no frame-specific parameter, normalised output, noise-driven and deterministic,
/// stored in and restored from checkpoints; the authors' variant untouched. Gradients are in GradientTests.
final class StationaryDecoderTests: XCTestCase {
    func stationaryConfig(length: Int = 16) -> LeonardoConfig {
        var c = LeonardoConfig.tiny
        c.length = length
        c.decoderVariant = .stationary
        c.noiseChannels = 4
        return c
    }

    func testNoParameterBelongsToAFrameIndex() throws {
        // A parameter tied to frame indices would grow with T; the authors' bottleneck layer does.
        let short = try Leonardo(config: stationaryConfig(length: 16))
        let long = try Leonardo(config: stationaryConfig(length: 64))
        let decoderCount = { (m: Leonardo) in
            m.parameters.refs.filter { $0.name.hasPrefix("decoder.") }.reduce(0) { $0 + $1.count }
        }
        XCTAssertEqual(decoderCount(short), decoderCount(long))
        var a16 = LeonardoConfig.tiny
        var a64 = LeonardoConfig.tiny
        a16.length = 16
        a64.length = 64
        XCTAssertNotEqual(decoderCount(try Leonardo(config: a16)), decoderCount(try Leonardo(config: a64)))
        XCTAssertNil(short.decoder.bottleneckLinear)
    }

    func testOutputIsNormalisedLikeTheData() throws {
        let model = try Leonardo(config: stationaryConfig(), seed: 2)
        var rng = Xoshiro256StarStar(seed: 5)
        let n = 6
        let T = model.config.length
        let z = (0..<(n * model.config.latentDim)).map { _ in Float(rng.normal()) }
        let r = model.decode(z: z, rng: &rng)
        for i in 0..<n {
            var lo = [Float.infinity, .infinity]
            var hi = [-Float.infinity, -.infinity]
            for t in 0..<T {
                for c in 0..<2 {
                    lo[c] = min(lo[c], r[(i * T + t) * 2 + c])
                    hi[c] = max(hi[c], r[(i * T + t) * 2 + c])
                }
            }
            XCTAssertEqual(lo[0], 0, accuracy: 1e-6)
            XCTAssertEqual(lo[1], 0, accuracy: 1e-6)
            XCTAssertEqual(max(hi[0] - lo[0], hi[1] - lo[1]), 1, accuracy: 1e-4)
        }
        // Re-normalising changes nothing: the output is a fixed point of the data's normalisation.
        assertClose(TrajectoryNormalization.normalize(r, length: T).normalized, r, rel: 1e-4, "normalised output")
    }

    func testNoiseMakesSamplesDifferAndFixedNoiseIsDeterministic() throws {
        let model = try Leonardo(config: stationaryConfig(), seed: 2)
        let z = [Float](repeating: 0.3, count: 2 * model.config.latentDim)
        var rng = Xoshiro256StarStar(seed: 9)
        let noise = (0..<model.noiseCount(batch: 2)).map { _ in Float(rng.normal()) }
        XCTAssertEqual(model.decode(z: z, noise: noise), model.decode(z: z, noise: noise))
        let r = model.decode(z: z, noise: noise)
        let per = model.config.length * 2
        XCTAssertNotEqual(Array(r[0..<per]), Array(r[per..<(2 * per)]), "same latent, other noise: another trajectory")
        var a = Xoshiro256StarStar(seed: 4)
        var b = Xoshiro256StarStar(seed: 4)
        XCTAssertEqual(model.decode(z: z, rng: &a), model.decode(z: z, rng: &b))
    }

    func testStepProfileIsFlatOverFrames() throws {
        // Mean squared step at each interior frame over many samples: a frame-locked decoder shows a profile with a
        // large coefficient of variation (the shipped authors' model: 2.6); the stationary one, even untrained, does
        // not. The first and last frames feel the convolutions' zero padding and are left out.
        let model = try Leonardo(config: stationaryConfig(length: 32), seed: 7)
        var rng = Xoshiro256StarStar(seed: 11)
        let n = 1500
        let T = 32
        let L = model.config.latentDim
        let z = (0..<(n * L)).map { _ in Float(rng.normal()) }
        let r = model.decode(z: z, rng: &rng)
        var profile = [Double](repeating: 0, count: T - 1)
        for i in 0..<n {
            for t in 1..<T {
                let dx = Double(r[(i * T + t) * 2] - r[(i * T + t - 1) * 2])
                let dy = Double(r[(i * T + t) * 2 + 1] - r[(i * T + t - 1) * 2 + 1])
                profile[t - 1] += (dx * dx + dy * dy) / Double(n)
            }
        }
        let interior = Array(profile[4..<(T - 5)])
        let mean = interior.reduce(0, +) / Double(interior.count)
        let sd = (interior.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(interior.count)).squareRoot()
        XCTAssertLessThan(sd / mean, 0.1, "profile \(interior)")
    }

    func testCheckpointRoundTripKeepsTheVariant() throws {
        let model = try Leonardo(config: stationaryConfig(), seed: 3)
        let path = temporaryPath("stationary.h5")
        try LeonardoCheckpoint.save(model, to: path)
        let loaded = try Leonardo.load(path)
        XCTAssertEqual(loaded.config, model.config)
        XCTAssertTrue(loaded.config.isStationary)
        var rng = Xoshiro256StarStar(seed: 1)
        let z = (0..<(3 * model.config.latentDim)).map { _ in Float(rng.normal()) }
        let noise = (0..<model.noiseCount(batch: 3)).map { _ in Float(rng.normal()) }
        XCTAssertEqual(model.decode(z: z, noise: noise), loaded.decode(z: z, noise: noise))
    }

    func testAuthorsConfigEncodesAsBefore() throws {
        // Checkpoints of the authors' variant keep the config JSON they had before the variant existed.
        let json = String(decoding: try JSONEncoder().encode(LeonardoConfig.paper), as: UTF8.self)
        XCTAssertFalse(json.contains("decoderVariant"))
        XCTAssertFalse(json.contains("noiseChannels"))
        XCTAssertEqual(LeonardoConfig.paper.frameNoiseChannels, 0)
        let model = try Leonardo(config: .tiny)
        XCTAssertEqual(model.noiseCount(batch: 5), 0)
    }

    func testFineTuneCopiesSharedParameters() throws {
        let authors = try Leonardo(config: .tiny, seed: 1)
        var c = LeonardoConfig.tiny
        c.decoderVariant = .stationary
        let stationary = try Leonardo(config: c, seed: 2)
        let result = stationary.parameters.copyMatching(from: authors.parameters)
        XCTAssertEqual(
            Set(result.fresh),
            [
                "decoder.stationary.latent_proj.weight", "decoder.stationary.latent_proj.bias",
                "decoder.stationary.noise_proj.weight"
            ])
        XCTAssertEqual(result.copied, stationary.parameters.refs.count - 3)
        let mu = authors.encode(randomWalks(2, length: 16, seed: 3)).mu
        XCTAssertEqual(mu, stationary.encode(randomWalks(2, length: 16, seed: 3)).mu, "the encoder came across")
    }
}
