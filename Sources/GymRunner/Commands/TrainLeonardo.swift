import ArgumentParser
import Foundation
import LeonardoSim

extension DecoderVariant: ExpressibleByArgument {}

struct TrainLeonardo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train LEONARDO with the physics-informed loss on a trajectory file.",
        discussion: """
            DATA.h5 holds 'trajectories' (N×T×2); each trajectory is normalised as in the paper (appendix A). \
            Checkpoints (weights, Adam state, data position and generator) are written atomically to --out every \
            --checkpoint-every steps, at each epoch's end and on Ctrl-C; --resume continues bit-for-bit.
            """)

    @Option(help: "Training trajectories (HDF5, dataset 'trajectories' N×T×2).") var data: String
    @Option(help: "Checkpoint to write (HDF5).") var out: String
    @Option(help: "Model size: paper (8.95 M parameters), small or tiny.") var model: ModelSize = .paper
    @Flag(help: "Chain the decoder blocks instead of the released loop that feeds e to every block.")
    var chainDecoderBlocks = false
    @Option(help: "Epochs to train (in total, counting those of a resumed run).") var epochs: Int = 10
    @Option(
        name: [.customLong("batch-size"), .customLong("batch")],
        help: "Mini-batch size (default 64; a resumed run keeps its own).") var batch: Int?
    @Option(
        name: [.customLong("learning-rate"), .customLong("lr")],
        help: "Adam learning rate (default 3e-4; a resumed run keeps its own).") var lr: Float?
    @Option(help: "Global gradient-norm clip, 0 disables (default 1; a resumed run keeps its own).") var gradClip:
        Double?
    @Option(help: "Seed of data order, initialisation and reparameterisation noise (default 0).") var seed: UInt64?
    @Option(help: "Checkpoint every this many optimizer steps (default 200).") var checkpointEvery: Int?
    @Option(help: "Use only the first N trajectories.") var limit: Int?
    @Option(help: "Validation trajectories (HDF5) evaluated at each epoch's end.") var validation: String?
    @Flag(
        help:
            "Continue from the checkpoint at --out with its saved batch, learning rate, clip, seed and checkpoint cadence (flags that contradict them are refused; --epochs may extend the run)."
    ) var resume = false
    @OptionGroup var overwriting: OverwriteOption
    @Option(
        help:
            "Start from the weights of this checkpoint (fine-tuning; fresh optimizer, its dose calibration and latent prior are dropped since they no longer fit)."
    ) var initFrom: String?
    @Option(
        help:
            "Set the weight of a loss term, NAME=VALUE (repeatable); names: \(LossTerms.names.joined(separator: ", ")) (L1 … L15; the last four are this project's, with their own flags too)."
    ) var lossWeight: [String] = []
    @Option(
        help:
            "Weight of the block-heterogeneity term L12 (not in the paper; 0 = the paper's 11-term loss): penalises reconstructions whose step size switches over time more, or less, than their input's."
    ) var blockHeterogeneity: Double?
    @Option(help: "Number of consecutive blocks of steps in L12.") var heterogeneityBlocks: Int?
    @Option(
        help:
            "Weight of the long-lag term L13 (not in the paper; 0 = off): matches each reconstruction's log time-averaged MSD at lags 1, 10, 50, 100 and 150 frames to its input's."
    ) var longLagMsd: Double?
    @Option(
        help:
            "Weight of the step-profile term L14 (not in the paper; 0 = off): matches the batch's mean squared step at every frame index to the data's, so large steps do not gather at fixed frames."
    ) var stepProfile: Double?
    @Option(
        help:
            "Weight of the axis-ratio term L15 (not in the paper; 0 = off): matches each reconstruction's log ratio of x- to y-step standard deviation to its input's, so the decoder cannot favour one axis."
    ) var axisRatio: Double?
    @Flag(help: "Cut longer trajectories into consecutive windows of the model's length (paper appendix A).")
    var segment = false
    @Option(help: "With --segment: keep every k-th frame first.") var subsample: Int = 1
    @Option(
        help:
            "With --segment: start a window every this many frames (overlapping windows; default: the model's length, i.e. consecutive)."
    ) var windowStride: Int?
    @Flag(
        help:
            "Add the 8 images of every --data (and --validation) trajectory under rotations by 90° and reflections (in-plane diffusion has no preferred direction)."
    ) var augmentSymmetries = false
    @Option(
        help:
            "More training trajectories of the model's length, used as they are (repeat for several files), e.g. dose-labelled LPTEM-like data mixed with real ones."
    ) var mix: [String] = []
    @Option(
        help:
            "Decoder variant of a new model: authors (the released one) or stationary (time-shared front end with per-frame noise; outputs steps)."
    ) var decoder: DecoderVariant?
    @Option(help: "Per-frame noise channels of the stationary decoder.") var noiseChannels: Int?
    @Option(
        help:
            "Weight of the semi-supervised dose term (not in the paper; 0 = off): the dose-labelled trajectories (--mix files with 'dose') hold the dose coordinate of their posterior mean at the calibration of --dose-anchor-axis."
    ) var doseAnchor: Double?
    @Option(
        help:
            "Calibrated checkpoint whose dose axis (index, intercept, slope) the dose term holds (default: the shipped model)."
    ) var doseAnchorAxis: String?
    @Option(
        help:
            "With --validation: evaluate every this many steps as well as at each epoch's end (0: epoch ends only). Each evaluation is a row of OUT-curve.csv; the best one is saved as OUT-best.h5 (early stopping)."
    ) var validateEvery: Int = 0

    func validate() throws {
        try requireRange(epochs, 1...1_000_000, "--epochs")
        if let checkpointEvery { try requireRange(checkpointEvery, 1...100_000_000, "--checkpoint-every") }
        if let limit { try requireRange(limit, 2...100_000_000, "--limit") }
        if let batch { try requireRange(batch, 2...65_536, "--batch-size") }
        if let lr { try requireFinite(lr, 1e-9...1, "--learning-rate") }
        if let gradClip { try requireFinite(gradClip, 0...1e6, "--grad-clip") }
        if resume && overwriting.overwrite { throw ValidationError("--resume and --overwrite exclude each other") }
        if let limit, limit < 2 { throw ValidationError("--limit must be at least 2") }
        if resume && initFrom != nil {
            throw ValidationError("--init-from starts a new run; --resume continues one at --out (use one of them)")
        }
        _ = try parsedLossWeights()
        if resume && !lossWeight.isEmpty {
            throw ValidationError("--loss-weight chooses a new run's loss; a resumed run keeps its own")
        }
        if let w = blockHeterogeneity, !(w >= 0 && w.isFinite) {
            throw ValidationError("--block-heterogeneity must be a finite number ≥ 0")
        }
        if let k = heterogeneityBlocks, k < 2 { throw ValidationError("--heterogeneity-blocks must be at least 2") }
        if let w = longLagMsd, !(w >= 0 && w.isFinite) {
            throw ValidationError("--long-lag-msd must be a finite number ≥ 0")
        }
        if let w = stepProfile, !(w >= 0 && w.isFinite) {
            throw ValidationError("--step-profile must be a finite number ≥ 0")
        }
        if let w = axisRatio, !(w >= 0 && w.isFinite) {
            throw ValidationError("--axis-ratio must be a finite number ≥ 0")
        }
        if let w = doseAnchor, !(w >= 0 && w.isFinite) {
            throw ValidationError("--dose-anchor must be a finite number ≥ 0")
        }
        if doseAnchorAxis != nil && doseAnchor == nil {
            throw ValidationError("--dose-anchor-axis goes with --dose-anchor")
        }
        if resume && doseAnchor != nil {
            throw ValidationError("--dose-anchor chooses a new run's loss; a resumed run keeps its own")
        }
        if validateEvery < 0 { throw ValidationError("--validate-every must be ≥ 0") }
        if let k = windowStride, k < 1 { throw ValidationError("--window-stride must be at least 1") }
        if windowStride != nil && !segment { throw ValidationError("--window-stride goes with --segment") }
        if let k = noiseChannels, !(1...256).contains(k) { throw ValidationError("--noise-channels must be 1 ... 256") }
        if noiseChannels != nil && decoder != .stationary {
            throw ValidationError("--noise-channels goes with --decoder stationary")
        }
        if resume && (decoder != nil || noiseChannels != nil) {
            throw ValidationError("--decoder and --noise-channels choose a new model; a resumed run keeps its own")
        }
    }

    /// The model a fine-tune starts from: the checkpoint itself (calibration and prior dropped, since they will no
    /// longer fit), or, for another decoder variant, a fresh model of that variant with every tensor the two share.
    func initialModel(from path: String, seed: UInt64) throws -> Leonardo {
        let m = try Leonardo.load(path)
        guard let decoder, (m.config.decoderVariant ?? .authors) != decoder || noiseChannels != nil else {
            m.doseCalibration = nil
            m.latentPrior = nil
            return m
        }
        var c = m.config
        c.decoderVariant = decoder == .authors ? nil : decoder
        c.noiseChannels = noiseChannels
        let fresh = try Leonardo(config: c, seed: seed)
        let copied = fresh.parameters.copyMatching(from: m.parameters)
        print(
            "--init-from \(path): \(copied.copied) tensors copied, \(copied.fresh.count) new (\(copied.fresh.joined(separator: ", ")))"
        )
        return fresh
    }

    /// --loss-weight NAME=VALUE pairs, checked.
    func parsedLossWeights() throws -> [(LossTerm, Double)] {
        try lossWeight.map { item in
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let term = LossTerm(name: parts[0]), let v = Double(parts[1]), v >= 0, v.isFinite
            else {
                throw ValidationError(
                    "--loss-weight must be NAME=VALUE with a finite VALUE ≥ 0 and NAME one of \(LossTerms.names.joined(separator: ", ")); got '\(item)'"
                )
            }
            return (term, v)
        }
    }

    /// Reads a --data or --validation file: windows (with --segment), symmetry images (with --augment-symmetries).
    func loadNormalized(_ path: String, length: Int) throws -> [Float] {
        var set = try TrajectorySet.read(path)
        if segment && set.length != length {
            if let windowStride {
                set = try set.windows(length, stride: windowStride)
            } else {
                set = try set.segmented(window: length, subsample: subsample)
            }
        }
        if set.length != length {
            throw UserError(
                "\(path): trajectories have \(set.length) frames but the model expects \(length) (add --segment to cut longer ones)"
            )
        }
        if let limit, limit < set.count {
            set = TrajectorySet(
                trajectories: Array(set.trajectories[0..<(limit * length * 2)]), count: limit, length: length)
        }
        if augmentSymmetries { set = set.symmetryAugmented() }
        return set.normalized()
    }

    /// A --mix file, used as it is, with its dose labels (NaN where the file has none).
    func loadMix(_ path: String, length: Int) throws -> (trajectories: [Float], dose: [Float]) {
        let set = try TrajectorySet.read(path)
        guard set.length == length else {
            throw UserError("\(path): --mix trajectories have \(set.length) frames but the model expects \(length)")
        }
        return (set.normalized(), set.dose ?? [Float](repeating: .nan, count: set.count))
    }

    func run() throws {
        // Nothing is destroyed: a new run never replaces a checkpoint unless asked, an input is never the output,
        // and one process at a time writes a checkpoint.
        if resume {
            guard FileManager.default.fileExists(atPath: out) else {
                throw UserError("--resume: \(out) does not exist (nothing to continue)")
            }
        } else {
            try claimOutput(
                out, inputs: [data, initFrom, validation].compactMap { $0 } + mix, overwrite: overwriting.overwrite)
        }
        let folder = (canonicalPath(out) as NSString).deletingLastPathComponent
        let lock = try OutputLock(
            (folder as NSString).appendingPathComponent("." + (out as NSString).lastPathComponent + ".lock"),
            what: "checkpoint \(out)")
        defer { withExtendedLifetime(lock) {} }
        removeStaleTemporaries(in: folder)
        var schedule = Schedule(
            batch: batch ?? Schedule.defaults.batch, learningRate: lr ?? Schedule.defaults.learningRate,
            gradClip: gradClip ?? Schedule.defaults.gradClip, seed: seed ?? Schedule.defaults.seed,
            checkpointEvery: checkpointEvery ?? Schedule.defaults.checkpointEvery)
        if resume {
            // The checkpoint's options are the source of truth; a flag given explicitly must agree with them.
            guard let saved = try LeonardoCheckpoint.trainingOptions(out) else {
                throw UserError("--resume: \(out) holds weights only, no training state to continue")
            }
            var conflicts: [String] = []
            func check<V: Equatable>(_ flag: String, _ given: V?, _ stored: V) {
                if let given, given != stored { conflicts.append("\(flag) \(given) (the run's: \(stored))") }
            }
            check("--batch-size", batch, saved.batchSize)
            check("--learning-rate", lr, saved.learningRate)
            check("--grad-clip", gradClip, saved.gradClip)
            check("--seed", seed, saved.seed)
            check("--checkpoint-every", checkpointEvery, saved.checkpointEvery)
            guard conflicts.isEmpty else {
                throw UserError(
                    "--resume: \(conflicts.joined(separator: ", ")) contradict\(conflicts.count == 1 ? "s" : "") the checkpoint's training state; leave \(conflicts.count == 1 ? "it" : "them") out to continue the run"
                )
            }
            schedule = Schedule(
                batch: saved.batchSize, learningRate: saved.learningRate, gradClip: saved.gradClip, seed: saved.seed,
                checkpointEvery: saved.checkpointEvery)
        }
        try train(schedule)
    }

    /// The options a resumed run takes from its checkpoint: a new run's flags (or their defaults), or the saved ones.
    struct Schedule {
        var batch: Int
        var learningRate: Float
        var gradClip: Double
        var seed: UInt64
        var checkpointEvery: Int
        static let defaults = Schedule(batch: 64, learningRate: 3e-4, gradClip: 1, seed: 0, checkpointEvery: 200)
    }

    func train(_ schedule: Schedule) throws {
        let (batch, lr, gradClip, seed, checkpointEvery) = (
            schedule.batch, schedule.learningRate, schedule.gradClip, schedule.seed, schedule.checkpointEvery
        )
        var cfg = model.config
        cfg.chainDecoderBlocks = chainDecoderBlocks
        if decoder == .stationary {
            cfg.decoderVariant = .stationary
            cfg.noiseChannels = noiseChannels
        }
        var initial: Leonardo?
        if let initFrom {
            let start = try initialModel(from: initFrom, seed: seed)
            cfg = start.config
            initial = start
        }
        if resume {
            let f = try HDF5File.open(out)
            cfg = try LeonardoCheckpoint.config(of: f)
            f.close()
        }
        var train = try loadNormalized(data, length: cfg.length)
        let ownCount = train.count / (cfg.length * 2)
        var doseLabels = [Float](repeating: .nan, count: ownCount)
        for path in mix {
            let (trajectories, dose) = try loadMix(path, length: cfg.length)
            train += trajectories
            doseLabels += dose
        }
        if !mix.isEmpty {
            print(
                "training data: \(ownCount) trajectories from \(data), \(train.count / (cfg.length * 2) - ownCount) from --mix"
            )
        }
        let val = try validation.map { try loadNormalized($0, length: cfg.length) }
        let n = train.count / (cfg.length * 2)
        guard n >= batch else { throw UserError("\(data): \(n) trajectories, fewer than one batch of \(batch)") }
        var opts = TrainingOptions()
        opts.epochs = epochs
        opts.batchSize = batch
        opts.learningRate = lr
        opts.gradClip = gradClip
        opts.seed = seed
        opts.checkpointEvery = checkpointEvery
        for (term, value) in try parsedLossWeights() { opts.weights[term] = value }
        if let w = blockHeterogeneity { opts.weights.blockHeterogeneity = w }
        if let k = heterogeneityBlocks { opts.weights.heterogeneityBlocks = k }
        if let w = longLagMsd { opts.weights.longLagMSD = w }
        if let w = stepProfile { opts.weights.stepProfile = w }
        if let w = axisRatio { opts.weights.axisRatio = w }
        let leo = try initial ?? Leonardo(config: cfg, seed: seed)
        if let w = doseAnchor {
            let axisPath = doseAnchorAxis ?? defaultLeonardoPath()
            guard let calibration = try Leonardo.load(axisPath).doseCalibration else {
                throw UserError("\(axisPath): no dose calibration to anchor to (run calibrate-dose first)")
            }
            guard doseLabels.contains(where: { $0.isFinite && $0 > 0 }) else {
                throw UserError(
                    "--dose-anchor needs dose-labelled trajectories: give a --mix file with a 'dose' dataset")
            }
            opts.doseAnchor = DoseAnchor(weight: w, calibration: calibration)
            print(
                String(
                    format: "dose term: z%d held at %.4f %+.4f·log10(dose) (from %@), weight %g", calibration.index + 1,
                    calibration.intercept, calibration.slope, axisPath, w))
        }
        let trainer = try LeonardoTrainer(model: leo, data: train, options: opts, doseLabels: doseLabels)
        if resume {
            try trainer.resume(from: out)
            // A run keeps its loss: a loss flag given with --resume must agree with the saved run.
            let saved = trainer.state.options.weights
            func keep<V: Equatable>(_ flag: String, _ given: V?, _ stored: V) throws {
                if let given, given != stored {
                    throw UserError(
                        "\(flag) \(given) differs from the resumed run's \(stored) (a run keeps its loss; leave the flag out to continue)"
                    )
                }
            }
            try keep("--block-heterogeneity", blockHeterogeneity, saved.blockHeterogeneity)
            try keep("--heterogeneity-blocks", heterogeneityBlocks, saved.heterogeneityBlocks)
            try keep("--long-lag-msd", longLagMsd, saved.longLagMSD)
            try keep("--step-profile", stepProfile, saved.stepProfile)
            try keep("--axis-ratio", axisRatio, saved.axisRatio)
            print("resumed from \(out) at epoch \(trainer.state.epoch + 1), step \(trainer.state.optimizerStep)")
        }
        print(
            "LEONARDO \(cfg.embedSize)-wide, \(leo.parameterCount) parameters; \(n) trajectories, \(trainer.stepsPerEpoch) steps/epoch"
        )
        var curve = try ValidationCurve(checkpoint: out, resuming: resume)
        installInterruptHandler()
        let totalSteps = epochs * trainer.stepsPerEpoch
        let bar = ProgressBar(total: totalSteps, label: "train", alreadyDone: trainer.state.optimizerStep)
        var last = Date()
        var lastStep = trainer.state.optimizerStep
        var rate = 0.0
        while !trainer.isFinished {
            let terms = trainer.step()
            if let bad = trainer.divergedLoss {
                bar.finish()
                throw UserError(
                    "training diverged at optimizer step \(trainer.state.optimizerStep + 1): the loss is \(bad) (lower --learning-rate or --grad-clip); no update was made; "
                        + (FileManager.default.fileExists(atPath: out)
                            ? "the last good checkpoint is \(out)" : "no checkpoint was written yet"))
            }
            let st = trainer.state
            let now = Date()
            if now.timeIntervalSince(last) > 1 {
                rate = Double((st.optimizerStep - lastStep) * batch) / now.timeIntervalSince(last)
                last = now
                lastStep = st.optimizerStep
            }
            let msg =
                "epoch \(st.epoch + (st.stepInEpoch == 0 ? 0 : 1))/\(epochs) loss \(String(format: "%.4g", terms.total)) ["
                + LossTerm.allCases.map { "\($0.shortName) \(String(format: "%.3g", terms[$0]))" }.joined(
                    separator: " ")
                + (st.options.doseAnchor == nil ? "" : " dose \(String(format: "%.3g", terms.doseAnchor))")
                + "] \(String(format: "%.0f", rate)) traj/s"
            bar.update(st.optimizerStep, msg)
            let epochEnded = st.stepInEpoch == 0
            if st.optimizerStep % checkpointEvery == 0 || epochEnded || interruptRequested || trainer.isFinished {
                try trainer.saveCheckpoint(out)
            }
            if let val, epochEnded || (validateEvery > 0 && st.optimizerStep % validateEvery == 0) {
                let v = trainer.evaluate(val)
                let trainLoss =
                    epochEnded
                    ? st.lastEpochTerms.total : terms.total
                bar.finish()
                let improved = v.total < curve.best
                print(
                    String(
                        format: "step %d (epoch %.2f): train loss %.4g, validation loss %.4g%@", st.optimizerStep,
                        Double(st.optimizerStep) / Double(trainer.stepsPerEpoch), trainLoss, v.total,
                        improved ? " (best so far: \(curve.bestPath))" : ""))
                try curve.append(
                    step: st.optimizerStep, epoch: Double(st.optimizerStep) / Double(trainer.stepsPerEpoch),
                    train: trainLoss, validation: v)
                if improved { try trainer.saveCheckpoint(curve.bestPath) }
            }
            if interruptRequested {
                bar.finish()
                print("interrupted: checkpoint saved to \(out) at step \(st.optimizerStep); continue with --resume")
                throw ExitCode(130)
            }
        }
        bar.finish()
        let losses = trainer.state.lastEpochTerms
        print("done: \(trainer.state.optimizerStep) steps; last epoch mean loss terms:")
        for term in LossTerm.allCases {
            print(
                "  \(term.name.padding(toLength: 20, withPad: " ", startingAt: 0)) \(String(format: "%.6g", losses[term]))"
            )
        }
        print("checkpoint: \(out)")
    }
}
