import ArgumentParser
import Foundation
import LeonardoSim
import MicroscopeGym

extension InferenceKernels: ExpressibleByArgument {}

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Measure cblas_sgemm, decoder inference (both kernel paths), training steps and environment steps/s.",
        discussion: """
            One run prints the machine's sgemm reference, the decoder's trajectories/s and share of it at each \
            --batches size for the BLAS path and the SIMD kernels, a training step, and LiquidCell-v0's steps/s for \
            one environment and vectors of --vector sizes under both paths (--kernels names fewer). The sgemm \
            reference varies between runs on a shared machine: compare shares over several runs. --env ID measures \
            only that environment, under the kernels chosen by MICROSCOPEGYM_KERNELS (default simd). Build with -c \
            release.
            """)

    @Option(help: "Model size to benchmark.") var model: ModelSize = .paper
    @Option(parsing: .upToNextOption, help: "Decoder batch sizes.") var batches: [Int] = [1, 16, 256]
    @Option(
        name: [.customLong("train-batches"), .customLong("train-batch")], parsing: .upToNextOption,
        help: "Training batch sizes (each measured on the BLAS path and the SIMD kernels, alternately).")
    var trainBatches: [Int] = [16, 32]
    @Option(help: "Minimum seconds per measurement.") var seconds: Double = 2
    @Option(help: "Benchmark only this registered environment (steps/s, one and vectors), under the current kernels.")
    var env: String?
    @Flag(help: "Skip the environment measurement of the full run.") var skipEnvironment = false
    @Option(parsing: .upToNextOption, help: "Vector sizes for the environment benchmark (one run each).")
    var vector: [Int] = [4, 16, 64]
    @Flag(help: "Skip the training-step measurement (decoder figures only).") var skipTraining = false
    @Flag(help: "Print the decoder's time per layer (batch = the first --batches value).") var layers = false
    @Option(parsing: .upToNextOption, help: "Inference kernel paths to measure (blas, simd).")
    var kernels: [InferenceKernels] = InferenceKernels.allCases

    func validate() throws {
        if batches.isEmpty || batches.contains(where: { $0 < 1 }) {
            throw ValidationError("--batches must be positive")
        }
        if trainBatches.isEmpty { throw ValidationError("--train-batches needs at least one size") }
        for b in trainBatches { try requireRange(b, 2...4096, "--train-batches") }
        for b in batches { try requireRange(b, 1...65_536, "--batches") }
        try requireFinite(seconds, 0.01...3600, "--seconds")
        for n in vector { try requireRange(n, 1...4096, "--vector") }
        if kernels.isEmpty { throw ValidationError("--kernels needs at least one of blas, simd") }
    }

    /// Runs body repeatedly for at least `seconds` (after one warm-up call); returns calls per second.
    func measure(_ body: () -> Void) -> Double {
        body()
        var calls = 0
        let start = Date()
        repeat {
            body()
            calls += 1
        } while Date().timeIntervalSince(start) < seconds
        return Double(calls) / Date().timeIntervalSince(start)
    }

    /// Environment steps/s for one environment and for batched vectors, and the decoder's share of the time, under
    /// `kernels`. Returns the single environment's steps/s.
    @discardableResult
    func benchEnvironment(_ id: String, kernels: KernelChoice, label: String = "") throws -> Double {
        let cell = try makeEnvironment(id: id)
        let saved = cell.model.kernels
        cell.model.kernels = kernels
        defer { cell.model.kernels = saved }
        let actions = cell.actionSpace.n
        var rng = Xoshiro256StarStar(seed: 7)
        // One environment: random actions, auto-reset; record how many latents each step decoded.
        var env = cell
        _ = try env.reset(seed: 1)
        var decodedPerStep: [Int] = []
        var steps = 0
        let start = Date()
        repeat {
            let s = try env.step(rng.uniformInt(actions))
            decodedPerStep.append(Int(s.info["decoded_segments"] ?? 1))
            steps += 1
            if s.done { _ = try env.reset(seed: nil) }
        } while Date().timeIntervalSince(start) < seconds
        let single = Double(steps) / Date().timeIntervalSince(start)
        // The decoder alone on the same work.
        let L = cell.model.config.latentDim
        let decStart = Date()
        for k in decodedPerStep { _ = cell.model.decode(z: (0..<(k * L)).map { _ in Float(rng.normal()) }, rng: &rng) }
        let decoderSeconds = Date().timeIntervalSince(decStart)
        let share = decoderSeconds / (Double(steps) / single)
        print(
            String(
                format:
                    "%@%@ single environment: %.1f steps/s (%.2f decoded segments per step on average), decoder %.0f%% of the time",
                id, label, single, Double(decodedPerStep.reduce(0, +)) / Double(steps), 100 * share))
        // Vectors of environments with one batched decoder call per step.
        for n in vector {
            var vec = LiquidCellVector(cell, count: n)
            _ = try vec.reset(seed: 1)
            var vsteps = 0
            let vstart = Date()
            repeat {
                _ = try vec.step((0..<n).map { _ in rng.uniformInt(actions) })
                vsteps += 1
            } while Date().timeIntervalSince(vstart) < seconds
            let vrate = Double(vsteps * n) / Date().timeIntervalSince(vstart)
            print(
                String(
                    format: "%@%@ vector of %d (batched decoding): %.1f environment steps/s (%.1f× one environment)",
                    id, label, n, vrate, vrate / single))
        }
        return single
    }

    /// Seconds per call of each stage of the decoder's real forward pass (its `StageProfile` hooks; the batch runs
    /// as one, without the per-worker lanes), at one batch size.
    func profileLayers(_ leo: Leonardo, batch N: Int, kernels: KernelChoice) {
        let c = leo.config
        var rng = Xoshiro256StarStar(seed: 3)
        let z = (0..<(N * c.latentDim)).map { _ in Float(rng.normal()) }
        let noiseCount = leo.noiseCount(batch: N)
        let noise = (0..<noiseCount).map { _ in Float(rng.normal()) }
        var out = [Float](repeating: 0, count: N * c.length * c.inputChannels)
        let profile = StageProfile()
        let saved = leo.kernels
        leo.kernels = kernels
        leo.decoder.profile = profile
        defer {
            leo.decoder.profile = nil
            leo.kernels = saved
        }
        var calls = 0
        z.withUnsafeBufferPointer { zp in
            noise.withUnsafeBufferPointer { np in
                out.withUnsafeMutableBufferPointer { op in
                    let (zb, nb, ob) = (zp.baseAddress!, noiseCount > 0 ? np.baseAddress : nil, op.baseAddress!)
                    func decode() { leo.decode(z: zb, noise: nb, out: ob, batch: N) }
                    decode()  // warm-up, not counted
                    profile.reset()
                    let start = Date()
                    repeat {
                        decode()
                        calls += 1
                    } while Date().timeIntervalSince(start) < seconds
                }
            }
        }
        let total = profile.seconds.values.reduce(0, +)
        print("decoder stages at batch \(N), \(kernels) kernels, timed inside the forward pass:")
        for name in profile.names {
            let t = profile.seconds[name]! / Double(calls)
            let flops = Double(profile.flops[name]!) / Double(calls)
            print(
                String(
                    format: "  %@ %7.2f ms  %5.1f%%  %6.1f GFLOP/s",
                    name.padding(toLength: 30, withPad: " ", startingAt: 0) as NSString, 1000 * t,
                    100 * profile.seconds[name]! / total, flops > 0 ? flops / t / 1e9 : 0))
        }
    }

    /// Decodes `batch` latents repeatedly with `SgemmProfile` on and reports the time inside cblas_sgemm: its share
    /// of the workers' time and the decoder throughput if nothing else took time.
    func sgemmBound(_ leo: Leonardo, z: [Float], batch: Int, flopsPerTrajectory: Double, reference: Double) -> String {
        var out = [Float](repeating: 0, count: batch * leo.config.length * 2)
        SgemmProfile.reset()
        SgemmProfile.enabled = true
        var calls = 0
        let start = Date()
        z.withUnsafeBufferPointer { zp in
            out.withUnsafeMutableBufferPointer { op in
                repeat {
                    leo.decode(z: zp.baseAddress!, out: op.baseAddress!, batch: batch)
                    calls += 1
                } while Date().timeIntervalSince(start) < seconds
            }
        }
        let wall = Date().timeIntervalSince(start)
        SgemmProfile.enabled = false
        let (gemmSeconds, gemmFlops, gemmCalls) = SgemmProfile.totals
        let workers = Double(Workers.count)
        let boundRate = Double(calls * batch) / (gemmSeconds / workers)
        return String(
            format:
                "  batch %4d: %4.0f%% of worker time in sgemm (%d calls per batch, %.1f GFLOP/s inside them); bound %7.1f trajectories/s = %5.1f GFLOP/s (%.0f%% of sgemm)",
            batch, 100 * gemmSeconds / (wall * workers), gemmCalls / max(calls, 1),
            gemmFlops / gemmSeconds * workers / 1e9,
            boundRate, boundRate * flopsPerTrajectory / 1e9, 100 * boundRate * flopsPerTrajectory / 1e9 / reference)
    }

    func run() throws {
        if let env {
            if let warning = OpenBLAS.slowKernelWarning { print(warning) }
            try benchEnvironment(env, kernels: .processDefault, label: " (\(KernelChoice.processDefault) kernels)")
            return
        }
        #if DEBUG
            print("warning: debug build; build with -c release for meaningful figures")
        #endif
        print(
            "workers: \(Workers.count) (OpenBLAS runs one thread per worker); OpenBLAS kernel "
                + (OpenBLAS.automaticChoice.map { "\($0), chosen by MicroscopeGym" } ?? OpenBLAS.kernel)
                + "; inference kernels by default \(KernelChoice.processDefault)")
        if let warning = OpenBLAS.slowKernelWarning { print(warning) }
        // Machine reference: a large square sgemm, through OpenBLAS's own threading and through the project's split.
        let n = 1024
        let a = FloatBuffer(count: n * n)
        let b = FloatBuffer(count: n * n)
        let c = FloatBuffer(count: n * n)
        for i in 0..<(n * n) {
            a.pointer[i] = Float(i % 7) * 0.1
            b.pointer[i] = Float(i % 5) * 0.1
        }
        let native = BLASThreads.nativeSgemmGFLOPS(
            n: n, threads: Workers.count, seconds: seconds, a: a.pointer, b: b.pointer, c: c.pointer)
        let gemmRate = measure { sgemm(m: n, n: n, k: n, a: a.pointer, b: b.pointer, c: c.pointer) }
        let split = gemmRate * 2 * Double(n * n * n) / 1e9
        let peak = max(native, split)
        print(
            String(
                format:
                    "cblas_sgemm %dx%dx%d: %.1f GFLOP/s with OpenBLAS threads, %.1f GFLOP/s row-split; reference %.1f",
                n, n, n, native, split, peak))

        // Decoded only (as an environment's model): frozen, like the environments' (`Leonardo.freezeWeights`).
        let leo = try Leonardo(config: model.config, seed: 1)
        leo.freezeWeights()
        let L = leo.config.latentDim
        let T = leo.config.length
        let flops = Double(leo.decoder.flopsPerTrajectory)
        print(
            String(
                format: "decoder: %.3f GFLOP per trajectory (live layers; chainDecoderBlocks=%@)",
                flops / 1e9, leo.config.chainDecoderBlocks ? "true" : "false"))
        var rows: [(Int, Double, Double)] = []
        var bounds: [String] = []
        let chosen = InferenceKernels.processDefault
        // The batch comparison is for the current path when it is measured, else the last one. The sgemm bound is the
        // BLAS path's (the SIMD path calls cblas_sgemm for the bottleneck on large chunks only).
        let boundPath = kernels.contains(chosen) ? chosen : kernels[kernels.count - 1]
        for kernel in kernels {
            leo.kernels = KernelChoice(kernel)
            for bs in batches {
                var rng = Xoshiro256StarStar(seed: 2)
                let z = (0..<(bs * L)).map { _ in Float(rng.normal()) }
                var out = [Float](repeating: 0, count: bs * T * 2)
                let rate =
                    z.withUnsafeBufferPointer { zp in
                        out.withUnsafeMutableBufferPointer { op in
                            measure { leo.decode(z: zp.baseAddress!, out: op.baseAddress!, batch: bs) }
                        }
                    } * Double(bs)
                print(
                    String(
                        format:
                            "decoder batch %4d, %@ kernels: %8.1f trajectories/s  %6.1f GFLOP/s  (%.0f%% of sgemm)",
                        bs, kernel.rawValue.padding(toLength: 5, withPad: " ", startingAt: 0), rate, rate * flops / 1e9,
                        100 * rate * flops / 1e9 / peak))
                if kernel == boundPath { rows.append((bs, rate, rate * flops / 1e9)) }
                if kernel == .blas {
                    bounds.append(sgemmBound(leo, z: z, batch: bs, flopsPerTrajectory: flops, reference: peak))
                }
            }
        }
        leo.kernels = .processDefault
        if !bounds.isEmpty {
            print(
                """
                the BLAS path's own cblas_sgemm calls, timed inside (all other work taken as free; this is the most \
                the decoder can reach with OpenBLAS at its shapes):
                """)
        }
        for line in bounds { print(line) }
        if layers && !bounds.isEmpty {
            // The shapes of the last bound measurement (the last --batches value), slowest share first.
            let shapes = SgemmProfile.shapes
            let total = shapes.reduce(0) { $0 + $1.seconds }
            print("  its sgemm calls by shape (m×n×k per call; GFLOP/s per thread):")
            for s in shapes.prefix(8) {
                print(
                    String(
                        format: "    %@ %6d calls  %5.1f%% of sgemm time  %6.1f GFLOP/s",
                        s.shape.description.padding(toLength: 16, withPad: " ", startingAt: 0) as NSString,
                        s.calls, 100 * s.seconds / total, Double(s.calls) * s.shape.flops / s.seconds / 1e9))
            }
        }
        if let best = rows.max(by: { $0.1 < $1.1 }), let last = rows.last, rows.count > 1 {
            print(
                String(
                    format: "batch %d throughput is %.0f%% of the best batch size (%d)", last.0, 100 * last.1 / best.1,
                    best.0))
        }
        if layers { profileLayers(leo, batch: batches[0], kernels: KernelChoice(boundPath)) }
        if !skipTraining { try benchTraining(try Leonardo(config: model.config, seed: 1)) }
        if skipEnvironment { return }
        var singles: [InferenceKernels: Double] = [:]
        for path in kernels {
            singles[path] = try benchEnvironment(
                "LiquidCell-v0", kernels: KernelChoice(path), label: " (\(path.rawValue) kernels)")
        }
        if let blas = singles[.blas], let simd = singles[.simd] {
            print(String(format: "LiquidCell-v0 single environment: simd kernels %.2f× the blas path", simd / blas))
        }
    }

    /// One training step (encoder + decoder forward and backward, loss, Adam) at each of `trainBatches`, on the BLAS
    /// reference path and on the SIMD kernels, measured alternately (three rounds of `seconds` each, the best round
    /// kept) so that a shared machine's drift touches both alike.
    func benchTraining(_ leo: Leonardo) throws {
        let T = leo.config.length
        let fwd = Double(leo.encoder.flopsPerTrajectory + leo.decoder.flopsPerTrajectory)
        let saved = leo.kernels
        defer { leo.kernels = saved }
        for batch in trainBatches {
            var opts = TrainingOptions()
            opts.batchSize = batch
            let data = (0..<(batch * 4 * T * 2)).map { Float(($0 * 7919) % 1000) / 1000 }
            let trainer = try LeonardoTrainer(model: leo, data: data, options: opts)
            var best: [InferenceKernels: Double] = [:]
            for _ in 0..<3 {
                for path in InferenceKernels.allCases {
                    leo.kernels = KernelChoice(path)
                    best[path] = max(best[path] ?? 0, measure { trainer.step() })
                }
            }
            let blas = best[.blas] ?? 0
            let simd = best[.simd] ?? 0
            for path in InferenceKernels.allCases {
                let rate = best[path] ?? 0
                print(
                    String(
                        format: "training step batch %d, %@ kernels: %.2f steps/s, %.1f trajectories/s, ≈%.1f GFLOP/s",
                        batch, KernelChoice(path).description as NSString, rate, rate * Double(batch),
                        rate * Double(batch) * 3 * fwd / 1e9))
            }
            print(String(format: "training step batch %d: simd kernels %.2f× the blas path", batch, simd / blas))
            guard layers else { continue }
            // Where the step's time goes, on the SIMD kernels.
            leo.kernels = .processDefault
            let profile = StageProfile()
            leo.trainingProfile = profile
            var steps = 0
            let start = Date()
            repeat {
                trainer.step()
                steps += 1
            } while Date().timeIntervalSince(start) < seconds
            let wall = Date().timeIntervalSince(start)
            leo.trainingProfile = nil
            print("  parts of a training step at batch \(batch), \(KernelChoice.processDefault) kernels:")
            for name in profile.names {
                let t = profile.seconds[name] ?? 0
                print(
                    String(
                        format: "    %@ %7.1f ms  %5.1f%%", name.padding(toLength: 20, withPad: " ", startingAt: 0),
                        1000 * t / Double(steps), 100 * t / wall))
            }
            // The share inside cblas_sgemm, by product shape.
            SgemmProfile.reset()
            SgemmProfile.enabled = true
            steps = 0
            let start2 = Date()
            repeat {
                trainer.step()
                steps += 1
            } while Date().timeIntervalSince(start2) < seconds
            let wall2 = Date().timeIntervalSince(start2)
            SgemmProfile.enabled = false
            let (gemmSeconds, _, gemmCalls) = SgemmProfile.totals
            print(
                String(
                    format: "  %.0f%% of the step's worker time inside cblas_sgemm (%d calls per step); by shape:",
                    100 * gemmSeconds / (wall2 * Double(Workers.count)), gemmCalls / max(steps, 1)))
            for s in SgemmProfile.shapes.prefix(8) {
                print(
                    String(
                        format: "    %@ %6d calls per step  %5.1f%% of the step  %6.1f GFLOP/s",
                        s.shape.description.padding(toLength: 16, withPad: " ", startingAt: 0) as NSString,
                        s.calls / max(steps, 1), 100 * s.seconds / (wall2 * Double(Workers.count)),
                        Double(s.calls) * s.shape.flops / s.seconds / 1e9))
            }
        }
    }
}
