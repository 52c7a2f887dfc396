import Foundation
import XCTest

@testable import LeonardoSim

/// `Linear.forwardRows` (`lk_gemm_rows` on the transposed weight, bias, residual and ReLU in the tile) against a
/// double-precision reference at every instruction set the CPU runs, and its transposed-weight cache against
/// changes to the weights.
final class RowsLinearTests: XCTestCase {
    /// y = act(x·Wᵀ + b + residual) in double precision.
    func reference(
        _ layer: Linear, _ store: ParameterStore, x: [Float], rows: Int, residual: [Float]?, relu: Bool
    ) -> [Double] {
        let (inF, outF) = (layer.inFeatures, layer.outFeatures)
        let w = store.value(layer.weight)
        var y = [Double](repeating: 0, count: rows * outF)
        for r in 0..<rows {
            for o in 0..<outF {
                var v = layer.bias.map { Double(store.value($0)[o]) } ?? 0
                for i in 0..<inF { v += Double(w[o * inF + i]) * Double(x[r * inF + i]) }
                if let residual { v += Double(residual[r * outF + o]) }
                y[r * outF + o] = relu ? max(0, v) : v
            }
        }
        return y
    }

    func testMatchesTheDoublePrecisionReferenceAtEverySupportedLevel() {
        // (rows, in, out, bias, residual, relu): the decoder's stacked V|K|Q (128 → 384), its feed-forward pair with
        // ReLU and with the residual, outputs that are no multiple of 16 or 64, rows that are no multiple of the
        // six-row tile, a single row and a single input.
        let shapes = [
            (200, 128, 384, false, false, false), (50, 128, 256, true, false, true), (50, 256, 128, true, true, false),
            (13, 37, 70, true, true, true), (1, 1, 3, false, true, true), (7, 24, 2, true, false, true)
        ]
        for level in KernelLevel.supported {
            var rng = Xoshiro256StarStar(seed: 41)
            for (rows, inF, outF, hasBias, hasResidual, relu) in shapes {
                let store = ParameterStore()
                let layer = Linear(store, "l", inF, outF, bias: hasBias)
                store.finalize(rng: &rng)
                let x = (0..<(rows * inF)).map { _ in Float(rng.normal()) }
                let residual = hasResidual ? (0..<(rows * outF)).map { _ in Float(rng.normal()) } : nil
                var y = [Float](repeating: .nan, count: rows * outF)
                (residual ?? []).withUnsafeBufferPointer { rp in
                    layer.forwardRows(
                        x, &y, rows: rows, residual: hasResidual ? rp.baseAddress : nil, relu: relu, level: level)
                }
                let want = reference(layer, store, x: x, rows: rows, residual: residual, relu: relu)
                var worst = 0.0
                for i in 0..<want.count {
                    let err = abs(Double(y[i]) - want[i]) / max(1, abs(want[i]))
                    worst = max(worst, err.isNaN ? .infinity : err)
                }
                XCTAssertLessThan(worst, 1e-5, "\(level.name): rows \(rows), in \(inF), out \(outF)")
                if relu { XCTAssertFalse(y.contains { $0 < 0 }, "\(level.name): ReLU left a negative output") }
            }
        }
    }

    /// The transposed weight is remade when the weights change between calls, whoever changed them.
    func testTransposedWeightFollowsChangesToTheWeights() {
        var rng = Xoshiro256StarStar(seed: 5)
        let store = ParameterStore()
        let layer = Linear(store, "l", 20, 30)
        store.finalize(rng: &rng)
        let rows = 24
        let x = (0..<(rows * 20)).map { _ in Float(rng.normal()) }
        var y = [Float](repeating: 0, count: rows * 30)
        layer.forwardRows(x, &y, rows: rows, level: .best)
        // One entry written through the store's pointer, as an optimiser step or a checkpoint load would.
        store.value(layer.weight)[7 * 20 + 3] += 1
        layer.forwardRows(x, &y, rows: rows, level: .best)
        let want = reference(layer, store, x: x, rows: rows, residual: nil, relu: false)
        for i in 0..<want.count {
            XCTAssertEqual(Double(y[i]), want[i], accuracy: 1e-5 * max(1, abs(want[i])), "output \(i)")
        }
    }

    /// A whole decoder under `.simd` on many rows (the transformer's N·T rows take `forwardRows`; with two or
    /// more workers each worker takes whole trajectories through its own copy of the `DecoderBody`) equals the BLAS path to
    /// float rounding, the residuals and the feed-forward ReLU included, with the released unchained blocks, with
    /// chained ones, and with the stationary front end and its integrator.
    func testDecoderAgreesAcrossKernelChoices() throws {
        for (chain, stationary) in [(false, false), (true, false), (false, true)] {
            var config = LeonardoConfig.tiny
            config.embedSize = 40
            config.heads = 4
            config.numLayers = 3
            config.chainDecoderBlocks = chain
            if stationary { config.decoderVariant = .stationary }
            let leo = try Leonardo(config: config, seed: 9)
            var rng = Xoshiro256StarStar(seed: 10)
            let batch = 5
            let z = (0..<(batch * config.latentDim)).map { _ in Float(rng.normal()) }
            let noise = (0..<leo.noiseCount(batch: batch)).map { _ in Float(rng.normal()) }
            leo.kernels = .blas
            let reference = leo.decode(z: z, noise: noise)
            leo.kernels = .simd
            let fast = leo.decode(z: z, noise: noise)
            for i in 0..<reference.count {
                XCTAssertEqual(
                    fast[i], reference[i], accuracy: 1e-4 * max(1, abs(reference[i])),
                    "chain \(chain), stationary \(stationary), output \(i)")
            }
        }
    }

    /// Each decode call checks the kept weight arrangements once (its frozen scope): weights changed between two
    /// calls, as a training step does, reach the second call in every layer with a kept copy.
    func testDecodeSeesWeightsChangedBetweenCalls() throws {
        let (leo, z) = try decoderAndLatents {
            $0.embedSize = 40
            $0.heads = 4
        }
        let config = leo.config
        leo.kernels = .simd
        let before = leo.decode(z: z)
        let block = leo.decoder.layers[config.numLayers - 1]
        for layer in [block.attention.queries, block.block.attention.fcOut, block.block.ff0] {
            layer.store.value(layer.weight)[3] += 0.5
        }
        let convWeight = leo.decoder.convTranspose.weight
        leo.parameters.value(convWeight)[1] += 0.5
        let after = leo.decode(z: z)
        leo.kernels = .blas
        let reference = leo.decode(z: z)
        XCTAssertNotEqual(before, after, "the changed weights had no effect")
        for i in 0..<reference.count {
            XCTAssertEqual(after[i], reference[i], accuracy: 1e-4 * max(1, abs(reference[i])), "output \(i)")
        }
    }

    /// Under `.simd` each layer's kernel follows from its weight, not from how many rows share the call, so a
    /// trajectory decodes to the same bits alone, in a batch (where the workers take whole trajectories through
    /// their lanes) and with one worker; the test model's T = 32 rows per trajectory equal `fewRows`.
    func testTrajectoriesDecodeToTheSameBitsInAnyBatchAndWorkerCount() throws {
        let (leo, z) = try decoderAndLatents {
            $0.length = 32
            $0.embedSize = 16
        }
        let config = leo.config
        let batch = 5
        let savedWorkers = Workers.count
        defer { Workers.count = savedWorkers }
        leo.kernels = .simd
        Workers.count = 2
        let together = leo.decode(z: z)
        let step = config.length * config.inputChannels
        for n in 0..<batch {
            let alone = leo.decode(z: Array(z[(n * config.latentDim)..<((n + 1) * config.latentDim)]))
            XCTAssertEqual(alone, Array(together[(n * step)..<((n + 1) * step)]), "trajectory \(n) alone")
        }
        Workers.count = 1
        XCTAssertEqual(leo.decode(z: z), together, "one worker")
    }

    /// A random tiny decoder edited by `edit`, and five random latents.
    func decoderAndLatents(_ edit: (inout LeonardoConfig) -> Void) throws -> (Leonardo, [Float]) {
        var config = LeonardoConfig.tiny
        edit(&config)
        let leo = try Leonardo(config: config, seed: 12)
        var rng = Xoshiro256StarStar(seed: 13)
        return (leo, (0..<(5 * config.latentDim)).map { _ in Float(rng.normal()) })
    }
}
