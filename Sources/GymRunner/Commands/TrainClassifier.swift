import ArgumentParser
import Foundation
import LeonardoSim
import MicroscopeGym

struct TrainClassifier: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-classifier",
        abstract: "Train the MoNet-style motion classifier (7 classes) and report per-class F1 on a held-out set.")
    @Option(help: "Labelled training set (e.g. 'gym-runner data make --kind mixed').") var data: String
    @Option(help: "Labelled held-out set for the F1 report.") var test: String
    @Option(help: "Output classifier (HDF5).") var out: String
    @OptionGroup var overwriting: OverwriteOption
    @Option(help: "Epochs.") var epochs: Int = 6
    @Option(help: "Batch size.") var batch: Int = 64
    @Option(help: "Adam learning rate.") var lr: Float = 1e-3
    @Option(help: "Seed (initialisation and data order).") var seed: UInt64 = 0
    @Option(
        help:
            "Real trajectories to stand for the LPTEM class of --data (e.g. runs/real/train.h5 from split-real): its windows and their rotations/reflections replace --data's LPTEM-labelled trajectories, as many as those were."
    ) var lptemFrom: String?
    @Option(
        help:
            "Real trajectories to stand for the LPTEM class of --test (e.g. runs/real/validation.h5; never the test particles)."
    ) var testLptemFrom: String?
    @Option(help: "Frames between the starts of the real trajectories' windows.") var windowStride: Int = 20

    func validate() throws {
        try requireRange(windowStride, 1...100_000, "--window-stride")
        try requireRange(epochs, 1...10_000, "--epochs")
        try requireRange(batch, 1...65_536, "--batch")
        try requireFinite(lr, 1e-9...1, "--lr")
    }

    /// `set` with its LPTEM-labelled trajectories replaced by windows (and their 8 symmetry images) of the real file,
    /// drawn at random without replacement, as many as there were (or all the windows, if fewer).
    func replacingLPTEM(in set: TrajectorySet, with path: String, seed: UInt64) throws -> TrajectorySet {
        guard let labels = set.labels, let names = set.labelNames, let lptem = names.firstIndex(of: "LPTEM") else {
            throw UserError("--lptem-from needs a labelled set with an LPTEM class (dataset --kind mixed)")
        }
        let real = try TrajectorySet.read(path).windows(set.length, stride: windowStride).symmetryAugmented()
        let kept = (0..<set.count).filter { labels[$0] != Int64(lptem) }
        var order = Array(0..<real.count)
        var rng = Xoshiro256StarStar(seed: seed)
        rng.shuffle(&order)
        var picked = real.subset(Array(order.prefix(min(set.count - kept.count, real.count))))
        picked.labels = [Int64](repeating: Int64(lptem), count: picked.count)
        picked.labelNames = names
        picked.dose = nil
        picked.alpha = nil
        var rest = set.subset(kept)
        rest.dose = nil
        rest.alpha = nil
        return try rest.concatenated(with: picked)
    }

    func run() throws {
        try claimOutput(out, inputs: [data, test], overwrite: overwriting.overwrite)
        var train = try TrajectorySet.read(data)
        var held = try TrajectorySet.read(test)
        if let lptemFrom { train = try replacingLPTEM(in: train, with: lptemFrom, seed: seed &+ 1) }
        if let testLptemFrom { held = try replacingLPTEM(in: held, with: testLptemFrom, seed: seed &+ 2) }
        guard train.labels != nil, let truth = held.labels else {
            throw UserError("both --data and --test need a 'labels' dataset")
        }
        var config = MotionClassifier.Config()
        config.length = train.length
        if let names = train.labelNames { config.classes = names }
        let cls = MotionClassifier(config: config, seed: seed)
        let steps = epochs * ((train.count + batch - 1) / batch)
        let bar = ProgressBar(total: steps, label: "classifier")
        var running = 0.0
        try cls.train(train, epochs: epochs, batchSize: batch, learningRate: lr, seed: seed) { epoch, step, loss in
            running = step == 1 ? loss : 0.98 * running + 0.02 * loss
            bar.update(step, String(format: "epoch %d loss %.3f", epoch + 1, running))
        }
        bar.finish()
        try cls.save(out)
        let (probs, _) = cls.predict(held.trajectories)
        let K = config.classes.count
        let predicted = (0..<held.count).map { i in (0..<K).max { probs[i * K + $0] < probs[i * K + $1] }! }
        let report = ClassificationReport(truth: truth, predicted: predicted, classes: config.classes)
        print("| class | precision | recall | F1 |\n|---|---:|---:|---:|")
        for k in 0..<K {
            print(
                String(
                    format: "| %@ | %.3f | %.3f | %.3f |", config.classes[k], report.precision[k], report.recall[k],
                    report.f1[k]))
        }
        print(
            String(
                format: "accuracy %.3f, macro F1 %.3f on %d held-out trajectories; wrote %@", report.accuracy,
                report.f1.reduce(0, +) / Double(K), held.count, out))
    }
}
