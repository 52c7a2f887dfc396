import ArgumentParser
import Foundation
import LeonardoSim
import MicroscopeGym

/// The default classifier shipped next to the environments' model.
func defaultClassifierPath() -> String {
    (EnvironmentRegistry.directory as NSString).appendingPathComponent("models/classifier-v0.h5")
}

/// Reads a trajectory file and cuts it into windows of `length` frames when it is longer.
func readWindows(_ path: String, length: Int) throws -> TrajectorySet {
    let set = try TrajectorySet.read(path)
    if set.length == length { return set }
    guard set.length > length else { throw UserError("\(path): trajectories have \(set.length) frames, need at least \(length)") }
    return try set.segmented(window: length)
}

struct TrainClassifier: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-classifier",
        abstract: "Train the MoNet-style motion classifier (7 classes) and report per-class F1 on a held-out set.")
    @Option(help: "Labelled training set (e.g. 'gym-runner dataset --kind mixed').") var data: String
    @Option(help: "Labelled held-out set for the F1 report.") var test: String
    @Option(help: "Output classifier (HDF5).") var out: String
    @Option(help: "Epochs.") var epochs: Int = 6
    @Option(help: "Batch size.") var batch: Int = 64
    @Option(help: "Adam learning rate.") var lr: Float = 1e-3
    @Option(help: "Seed (initialisation and data order).") var seed: UInt64 = 0
    @Option(help: "Real trajectories to stand for the LPTEM class of --data (e.g. runs/real/train.h5 from split-real): its windows and their rotations/reflections replace --data's LPTEM-labelled trajectories, as many as those were.") var lptemFrom: String?
    @Option(help: "Real trajectories to stand for the LPTEM class of --test (e.g. runs/real/validation.h5; never the test particles).") var testLptemFrom: String?
    @Option(help: "Frames between the starts of the real trajectories' windows.") var windowStride: Int = 20

    func validate() throws {
        if windowStride < 1 { throw ValidationError("--window-stride must be at least 1") }
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
        picked.dose = nil; picked.alpha = nil
        var rest = set.subset(kept)
        rest.dose = nil; rest.alpha = nil
        return try rest.concatenated(with: picked)
    }

    func run() throws {
        var train = try TrajectorySet.read(data), held = try TrajectorySet.read(test)
        if let lptemFrom { train = try replacingLPTEM(in: train, with: lptemFrom, seed: seed &+ 1) }
        if let testLptemFrom { held = try replacingLPTEM(in: held, with: testLptemFrom, seed: seed &+ 2) }
        guard train.labels != nil, let truth = held.labels else { throw UserError("both --data and --test need a 'labels' dataset") }
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
        for k in 0..<K { print(String(format: "| %@ | %.3f | %.3f | %.3f |", config.classes[k], report.precision[k], report.recall[k], report.f1[k])) }
        print(String(format: "accuracy %.3f, macro F1 %.3f on %d held-out trajectories; wrote %@", report.accuracy,
                     report.f1.reduce(0, +) / Double(K), held.count, out))
    }
}

struct Fidelity: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fréchet Motion Distance and % classified as LPTEM of a candidate set against a reference set.",
        discussion: """
        Embeds both sets with the classifier's second-to-last layer and prints FMD = ‖μ₁−μ₂‖² + \
        Tr(Σ₁ + Σ₂ − 2(Σ₁^½Σ₂Σ₁^½)^½) (reported like FID, without a square root) and the share of candidate \
        trajectories classified as LPTEM; the last column says what the classifier calls the others (share of all \
        candidate trajectories, classes above 0.5 %). Then the motion statistics of all candidate trajectories: the step \
        profile CV over frames (stationarity in time; about 1/√n for n stationary walks), the exponent of the ensemble \
        time-averaged MSD (lags 1–10) and the mean VACF at lag 1; the reference's are printed first. Longer trajectories \
        are cut into windows of the classifier's length. \
        --seeds K draws K random subsets of --count trajectories from each set and reports mean ± std.
        """)
    @Option(help: "Reference trajectories (HDF5).") var reference: String
    @Option(parsing: .upToNextOption, help: "Candidate trajectory files (HDF5); one row each.") var candidate: [String]
    @Option(help: "Classifier (default: the shipped one).") var classifier: String?
    @Option(help: "Number of random draws.") var seeds: Int = 1
    @Option(help: "Trajectories per draw (default: all, or the smaller set's size).") var count: Int?

    func run() throws {
        let path = classifier ?? defaultClassifierPath()
        guard FileManager.default.fileExists(atPath: path) else { throw UserError("\(path): classifier not found (train one with train-classifier)") }
        let cls = try MotionClassifier.load(path)
        let T = cls.config.length, E = cls.config.embedding, K = cls.config.classes.count
        guard let lptem = cls.config.classes.firstIndex(of: "LPTEM") else { throw UserError("\(path): the classifier has no LPTEM class") }
        let ref = try readWindows(reference, length: T)
        let (_, refEmb) = cls.predict(ref.trajectories)
        let refMotion = MotionSummary(ref)
        print(String(format: "reference %@: %d trajectories, step profile CV %.2f, MSD exponent %.3f, VACF(1) %.3f",
                     (reference as NSString).lastPathComponent, ref.count, refMotion.stepProfileVariation,
                     refMotion.msdExponent, refMotion.vacf[0]))
        print("| candidate | FMD | % LPTEM | n | profile CV | MSD exponent | VACF(1) | other classes (all candidates) |")
        print("|---|---:|---:|---:|---:|---:|---:|---|")
        for file in candidate {
            let cand = try readWindows(file, length: T)
            let (probs, candEmb) = cls.predict(cand.trajectories)
            let n = min(count ?? min(ref.count, cand.count), ref.count, cand.count)
            var fmds: [Double] = [], shares: [Double] = []
            for s in 0..<max(seeds, 1) {
                var rng = Xoshiro256StarStar(seed: UInt64(s))
                var ia = Array(0..<ref.count), ib = Array(0..<cand.count)
                if seeds > 1 || n < ref.count { rng.shuffle(&ia) }
                if seeds > 1 || n < cand.count { rng.shuffle(&ib) }
                let a = ia.prefix(n).flatMap { Array(refEmb[($0 * E)..<(($0 + 1) * E)]) }
                let b = ib.prefix(n).flatMap { Array(candEmb[($0 * E)..<(($0 + 1) * E)]) }
                fmds.append(try FrechetMotionDistance.squaredDistance(a, b, dimension: E))
                let lp = ib.prefix(n).filter { i in (0..<K).max { probs[i * K + $0] < probs[i * K + $1] } == lptem }.count
                shares.append(100 * Double(lp) / Double(n))
            }
            let fm = Estimate(fmds), sh = Estimate(shares)
            var predicted = [Int](repeating: 0, count: K)
            for i in 0..<cand.count { predicted[(0..<K).max { probs[i * K + $0] < probs[i * K + $1] } ?? 0] += 1 }
            let others = (0..<K).filter { $0 != lptem && 200 * predicted[$0] > cand.count }
                .sorted { predicted[$0] > predicted[$1] }
                .map { String(format: "%@ %.1f %%", cls.config.classes[$0], 100 * Double(predicted[$0]) / Double(cand.count)) }
            let motion = MotionSummary(cand)
            print(String(format: "| %@ | %.3f ± %.3f | %.1f ± %.1f | %d | %.2f | %.3f | %.3f | %@ |", (file as NSString).lastPathComponent,
                         fm.mean, fm.std, sh.mean, sh.std, n, motion.stepProfileVariation, motion.msdExponent, motion.vacf[0],
                         others.isEmpty ? "—" : others.joined(separator: ", ")))
        }
    }
}
