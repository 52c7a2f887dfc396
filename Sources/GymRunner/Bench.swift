import ArgumentParser
import Foundation
import LeonardoSim

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure cblas_sgemm, decoder inference and training-step throughput (release build).")

    @Option(help: "Model size to benchmark.") var model: ModelSize = .paper
    @Option(parsing: .upToNextOption, help: "Decoder batch sizes.") var batches: [Int] = [1, 16, 256]
    @Option(help: "Training batch size.") var trainBatch: Int = 16
    @Option(help: "Minimum seconds per measurement.") var seconds: Double = 2

    func validate() throws {
        if batches.isEmpty || batches.contains(where: { $0 < 1 }) { throw ValidationError("--batches must be positive") }
        if trainBatch < 2 { throw ValidationError("--train-batch must be at least 2") }
    }

    /// Runs body repeatedly for at least `seconds` (after one warm-up call); returns calls per second.
    func measure(_ body: () -> Void) -> Double {
        body()
        var calls = 0
        let start = Date()
        repeat { body(); calls += 1 } while Date().timeIntervalSince(start) < seconds
        return Double(calls) / Date().timeIntervalSince(start)
    }

    func run() throws {
        #if DEBUG
        print("warning: debug build; build with -c release for meaningful figures")
        #endif
        print("workers: \(Workers.count) (OpenBLAS runs one thread per worker)")
        // Machine reference: a large square sgemm, through OpenBLAS's own threading and through the project's split.
        let n = 1024
        let a = FloatBuffer(count: n * n), b = FloatBuffer(count: n * n), c = FloatBuffer(count: n * n)
        for i in 0..<(n * n) { a.pointer[i] = Float(i % 7) * 0.1; b.pointer[i] = Float(i % 5) * 0.1 }
        let native = BLASThreads.nativeSgemmGFLOPS(n: n, threads: Workers.count, seconds: seconds, a: a.pointer, b: b.pointer, c: c.pointer)
        let gemmRate = measure { sgemm(m: n, n: n, k: n, a: a.pointer, b: b.pointer, c: c.pointer) }
        let split = gemmRate * 2 * Double(n * n * n) / 1e9
        let peak = max(native, split)
        print(String(format: "cblas_sgemm %dx%dx%d: %.1f GFLOP/s with OpenBLAS threads, %.1f GFLOP/s row-split; reference %.1f",
                     n, n, n, native, split, peak))

        let leo = try Leonardo(config: model.config, seed: 1)
        let L = leo.config.latentDim, T = leo.config.length
        let flops = Double(leo.decoder.flopsPerTrajectory)
        print(String(format: "decoder: %.3f GFLOP per trajectory (live layers; chainDecoderBlocks=%@)",
                     flops / 1e9, leo.config.chainDecoderBlocks ? "true" : "false"))
        var rows: [(Int, Double, Double)] = []
        for bs in batches {
            var rng = Xoshiro256StarStar(seed: 2)
            let z = (0..<(bs * L)).map { _ in Float(rng.normal()) }
            var out = [Float](repeating: 0, count: bs * T * 2)
            let rate = z.withUnsafeBufferPointer { zp in
                out.withUnsafeMutableBufferPointer { op in
                    measure { leo.decode(z: zp.baseAddress!, out: op.baseAddress!, batch: bs) }
                }
            } * Double(bs)
            rows.append((bs, rate, rate * flops / 1e9))
            print(String(format: "decoder batch %4d: %8.1f trajectories/s  %6.1f GFLOP/s  (%.0f%% of sgemm)",
                         bs, rate, rate * flops / 1e9, 100 * rate * flops / 1e9 / peak))
        }
        if let best = rows.max(by: { $0.1 < $1.1 }), let last = rows.last, rows.count > 1 {
            print(String(format: "batch %d throughput is %.0f%% of the best batch size (%d)", last.0, 100 * last.1 / best.1, best.0))
        }
        // One training step (encoder + decoder forward and backward, loss, Adam).
        var opts = TrainingOptions()
        opts.batchSize = trainBatch
        let data = (0..<(trainBatch * 4 * T * 2)).map { Float(($0 * 7919) % 1000) / 1000 }
        let trainer = try LeonardoTrainer(model: leo, data: data, options: opts)
        let stepRate = measure { trainer.step() }
        let fwd = Double(leo.encoder.flopsPerTrajectory) + flops
        print(String(format: "training step batch %d: %.2f steps/s, %.1f trajectories/s, ≈%.1f GFLOP/s (counting 3× forward)",
                     trainBatch, stepRate, stepRate * Double(trainBatch), stepRate * Double(trainBatch) * 3 * fwd / 1e9))
    }
}
