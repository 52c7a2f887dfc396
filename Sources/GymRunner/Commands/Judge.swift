import ArgumentParser
import Foundation
import LeonardoSim
import MicroscopeGym

/// The judge of realism that is hard to fool: per-trajectory statistics against the real test particles with the
/// real-against-real floor beside each, and a classifier two-sample test with its control.
struct Judge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Judge generated trajectories against the real test particles: a statistics battery and a two-sample test.",
        discussion: """
            Cuts the real trajectories (--data, split by particle with --split) into --window-frame windows every \
            --stride frames (no rotations or reflections: isotropy is one of the things judged) and every candidate \
            file into windows of the same length, paper-normalises each window, and prints (1) for every statistic of \
            the battery (docs/fidelity.md) the Kolmogorov–Smirnov distance of each candidate to the test particles' \
            windows, beside the floor: the distance of the validation particles' windows to the test particles' (real \
            against other real particles); (2) isotropy: the share of windows whose x-range is the longer and the \
            median x/y step-std ratio; (3) a classifier two-sample test: a logistic regression on the standardised \
            battery, fitted on train-particle windows against half of the candidate's windows and scored on the test \
            particles' windows against the other half (balanced), with a 95 % Wilson interval and the statistics that \
            separate most, and a learned discriminator (the motion classifier's 1-D CNN with two classes, on the \
            paper-normalised windows) fitted and scored the same way; the control fits half of the train particles \
            against the other half and scores the test particles against the validation particles (real against \
            real). The test particles are never fitted on.
            """)

    @Option(help: "Real trajectories (HDF5).") var data: String = defaultRealDataPath()
    @Option(help: "Particle split (JSON).") var split: String = defaultRealSplitPath()
    @Option(parsing: .upToNextOption, help: "Candidate trajectory files (HDF5); one column each.") var candidate:
        [String] = []
    @Option(help: "Frames per window.") var window: Int = 200
    @Option(help: "Frames between the starts of consecutive real windows.") var stride: Int = 100
    @Option(help: "Seed of the halving and balancing draws and of the learned discriminator.") var seed: UInt64 = 1
    @Option(
        help:
            "Epochs of the learned discriminator (the motion classifier's 1-D CNN with two classes, on paper-normalised step sequences; 0 skips it)."
    ) var learnedEpochs: Int = 30
    @Flag(
        help:
            "Score on the validation particles instead of the test particles (the two swap roles: the floor and the control then use the test particles), for choosing between candidates without looking at the test particles."
    ) var scoreOnValidation = false

    func validate() throws {
        try requireRange(window, 12...100_000, "--window")
        try requireRange(stride, 1...100_000, "--stride")
        try requireRange(learnedEpochs, 0...10_000, "--learned-epochs")
        if candidate.isEmpty { throw ValidationError("--candidate: give at least one trajectory file") }
    }

    func run() throws {
        try requireReadableFiles([data, split] + candidate)
        let set = try TrajectorySet.read(data)
        let parts = try ParticleSplit.read(split)
        guard parts.particles == set.count else {
            throw UserError("\(split) splits \(parts.particles) particles but \(data) holds \(set.count)")
        }
        func windows(_ particles: [Int]) throws -> TrajectorySet {
            try set.subset(particles).windows(window, stride: stride).paperNormalized
        }
        // The train particles in two halves (the control fits one against the other); the whole is their union, in
        // the same order, since windows follow their particles.
        let half = parts.train.count / 2
        let trainA = try windows(Array(parts.train.prefix(half)))
        let trainB = try windows(Array(parts.train.dropFirst(half)))
        // With --score-on-validation the validation particles take the test particles' place (and the reverse):
        // `test` is the scored set, `validation` the other held-out set, which only the floor and the control read.
        let (scored, other) = scoreOnValidation ? (parts.validation, parts.test) : (parts.test, parts.validation)
        let (testName, validationName) = scoreOnValidation ? ("validation", "test") : ("test", "validation")
        let sets = (
            train: try trainA.concatenated(with: trainB), validation: try windows(other),
            test: try windows(scored), trainA: trainA, trainB: trainB
        )
        let (statisticsA, statisticsB) = (
            TrajectoryBattery.statistics(of: trainA), TrajectoryBattery.statistics(of: trainB)
        )
        let train = statisticsA + statisticsB
        let validation = TrajectoryBattery.statistics(of: sets.validation)
        let test = TrajectoryBattery.statistics(of: sets.test)
        var candidates: [(name: String, rows: [[Double]], set: TrajectorySet)] = []
        for file in candidate {
            let windows = try readWindows(file, length: window).paperNormalized
            candidates.append(
                ((file as NSString).lastPathComponent, TrajectoryBattery.statistics(of: windows), windows))
        }
        print(
            "real windows of \(window) frames every \(stride): train \(train.count), \(validationName) \(validation.count), "
                + "\(testName) \(test.count) (particles \(parts.train.count) / \(other.count) / \(scored.count))"
        )
        for c in candidates { print("\(c.name): \(c.rows.count) windows") }
        print()
        print(
            "### Kolmogorov–Smirnov distance to the real \(testName) particles' windows (floor: \(validationName) particles)"
        )
        print(
            "| statistic | floor (real \(validationName)) | "
                + candidates.map { "\($0.name) (× floor)" }.joined(separator: " | ") + " |")
        print("|---|---:|" + String(repeating: "---:|", count: candidates.count))
        var passes = [Int](repeating: 0, count: candidates.count)
        for (j, name) in TrajectoryBattery.names.enumerated() {
            let column = { (rows: [[Double]]) in rows.map { $0[j] } }
            let floor = TrajectoryBattery.ksDistance(column(validation), column(test))
            var line = String(format: "| %@ | %.3f |", name, floor)
            for (k, c) in candidates.enumerated() {
                let d = TrajectoryBattery.ksDistance(column(c.rows), column(test))
                if d <= 2 * floor { passes[k] += 1 }
                line += String(format: " %.3f (%.1f×) |", d, d / max(floor, 1e-9))
            }
            print(line)
        }
        print(
            "| within 2 × floor | — | "
                + passes.map { "\($0) of \(TrajectoryBattery.names.count)" }.joined(separator: " | ") + " |")
        print()
        print("### Isotropy and diversity")
        print(
            "| set | windows with the longer range on x | median x/y step-std ratio | spread (std) of the mean step |")
        print("|---|---:|---:|---:|")
        let ratioIndex = TrajectoryBattery.names.firstIndex(of: "log_xy_step_std_ratio")!
        let longerIndex = TrajectoryBattery.names.firstIndex(of: "x_range_longer")!
        let stepIndex = TrajectoryBattery.names.firstIndex(of: "log_mean_step")!
        for (name, rows) in [("real \(testName) particles", test), ("real \(validationName) particles", validation)]
            + candidates.map({ ($0.name, $0.rows) })
        {
            let share = rows.map { $0[longerIndex] }.reduce(0, +) / Double(max(rows.count, 1))
            let ratios = rows.map { Foundation.exp($0[ratioIndex]) }.sorted()
            let median = ratios.isEmpty ? Double.nan : ratios[ratios.count / 2]
            let steps = rows.map { Foundation.exp($0[stepIndex]) }
            print(String(format: "| %@ | %.1f %% | %.3f | %.4f |", name, 100 * share, median, Estimate(steps).std))
        }
        print()
        print("### Classifier two-sample tests (0.5: indistinguishable; the \(testName) particles are never fitted on)")
        print(
            "| candidate | logistic regression on the battery [95 % CI] | n | most separating statistics | "
                + (learnedEpochs > 0 ? "learned 1-D CNN on the steps [95 % CI] | n |" : ""))
        print("|---|---:|---:|---|" + (learnedEpochs > 0 ? "---:|---:|" : ""))
        var rng = Xoshiro256StarStar(seed: seed)
        /// Equal numbers of `a` and `b` (indices), drawn at random.
        func balanced(_ a: Int, _ b: Int) -> ([Int], [Int]) {
            var (ia, ib) = (Array(0..<a), Array(0..<b))
            rng.shuffle(&ia)
            rng.shuffle(&ib)
            let n = min(a, b)
            return (Array(ia.prefix(n)), Array(ib.prefix(n)))
        }
        /// Fits `fitReal` (label 0) against rows `fit` of `other` (label 1) and scores the test particles' windows
        /// against rows `score`; each class balanced by random draws.
        func report(
            _ name: String, fitReal: ([[Double]], TrajectorySet), other: ([[Double]], TrajectorySet), fit: [Int],
            score: [Int]
        ) throws {
            let (fa, fb) = balanced(fitReal.0.count, fit.count)
            let (sa, sb) = balanced(test.count, score.count)
            let judge = LogisticTwoSampleTest(
                fitting: fa.map { fitReal.0[$0] }, against: fb.map { other.0[fit[$0]] })
            let (accuracy, n) = judge.accuracy(sa.map { test[$0] }, sb.map { other.0[score[$0]] })
            let (low, high) = LogisticTwoSampleTest.wilsonInterval(accuracy, n)
            let top = TrajectoryBattery.names.indices.sorted { abs(judge.weights[$0]) > abs(judge.weights[$1]) }
                .prefix(3).map { String(format: "%@ (%+.2f)", TrajectoryBattery.names[$0], judge.weights[$0]) }
            var line = String(
                format: "| %@ | %.3f [%.3f, %.3f] | %d | %@ |", name, accuracy, low, high, n,
                top.joined(separator: ", "))
            if learnedEpochs > 0 {
                let learned = try learnedTest(
                    fit: (fitReal.1.subset(fa), other.1.subset(fb.map { fit[$0] })),
                    score: (sets.test.subset(sa), other.1.subset(sb.map { score[$0] })))
                let (l, h) = LogisticTwoSampleTest.wilsonInterval(learned.accuracy, learned.count)
                line += String(format: " %.3f [%.3f, %.3f] | %d |", learned.accuracy, l, h, learned.count)
            }
            print(line)
        }
        // Control: real against other real particles. Fit half of the train particles against the other half,
        // score the test particles against the validation particles.
        let realOther = (statisticsB + validation, try sets.trainB.concatenated(with: sets.validation))
        try report(
            "control: real particles (train half vs half, then \(testName) vs \(validationName))",
            fitReal: (statisticsA, sets.trainA), other: realOther, fit: Array(0..<statisticsB.count),
            score: Array(statisticsB.count..<(statisticsB.count + validation.count)))
        for c in candidates {
            var order = Array(c.rows.indices)
            rng.shuffle(&order)
            let h = order.count / 2
            try report(
                c.name, fitReal: (train, sets.train), other: (c.rows, c.set), fit: Array(order.prefix(h)),
                score: Array(order.dropFirst(h)))
        }
    }

    /// The learned discriminator: the motion classifier's architecture with two classes (real 0, other 1), trained on
    /// `fit` and scored on `score` (equal numbers of each class in both).
    func learnedTest(fit: (TrajectorySet, TrajectorySet), score: (TrajectorySet, TrajectorySet)) throws -> (
        accuracy: Double, count: Int
    ) {
        var config = MotionClassifier.Config()
        config.length = window
        config.classes = ["real", "other"]
        let discriminator = MotionClassifier(config: config, seed: seed)
        var labelled = try fit.0.concatenated(with: fit.1)
        labelled.labels = [Int64](repeating: 0, count: fit.0.count) + [Int64](repeating: 1, count: fit.1.count)
        labelled.labelNames = config.classes
        try discriminator.train(labelled, epochs: learnedEpochs, batchSize: 32, learningRate: 1e-3, seed: seed)
        let scored = try score.0.concatenated(with: score.1)
        let (probabilities, _) = discriminator.predict(scored.trajectories)
        var correct = 0
        for i in 0..<scored.count {
            let saysOther = probabilities[2 * i + 1] > probabilities[2 * i]
            if saysOther == (i >= score.0.count) { correct += 1 }
        }
        return (Double(correct) / Double(max(scored.count, 1)), scored.count)
    }
}
