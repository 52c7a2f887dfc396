import ArgumentParser
import Foundation
import LeonardoSim
import MicroscopeGym

struct Fidelity: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Fréchet Motion Distance and % classified as LPTEM of a candidate set against a reference set.",
        discussion: """
            Embeds both sets with the classifier's second-to-last layer and prints FMD = ‖μ₁−μ₂‖² + \
            Tr(Σ₁ + Σ₂ − 2(Σ₁^½Σ₂Σ₁^½)^½) (reported like FID, without a square root) and the share of candidate \
            trajectories classified as LPTEM; the last column says what the classifier calls the others (share of all \
            candidate trajectories, classes above 0.5 %). Then the motion statistics of all candidate trajectories, each \
            normalised as in the paper (so files in nm and LEONARDO's normalised output are weighted alike): the step \
            profile CV over frames (stationarity in time; about 1/√n for n stationary walks), the exponent of the ensemble \
            time-averaged MSD (lags 1–10) and the mean VACF at lag 1; the reference's are printed first. Longer trajectories \
            are cut into windows of the classifier's length. \
            --seeds K draws K random subsets of --count trajectories from each set and reports mean ± std.
            """)
    @Option(help: "Reference trajectories (HDF5).") var reference: String
    @Option(parsing: .upToNextOption, help: "Candidate trajectory files (HDF5); one row each.") var candidate: [String]
    @Option(help: "Classifier (default: the shipped one).") var classifier: String?
    @Option(help: "Number of random draws, 1 … 1000.") var seeds: Int = 1
    @Option(
        help:
            "Trajectories per draw (default: all, or the smaller set's size); more than the classifier's embedding size, so that the FMD's covariances have full rank."
    ) var count: Int?

    func validate() throws {
        try requireRange(seeds, 1...1000, "--seeds")
        if let count { try requireRange(count, 2...10_000_000, "--count") }
    }

    func run() throws {
        let path = classifier ?? defaultClassifierPath()
        guard FileManager.default.fileExists(atPath: path) else {
            throw UserError("\(path): classifier not found (train one with train-classifier)")
        }
        let cls = try MotionClassifier.load(path)
        let T = cls.config.length
        let E = cls.config.embedding
        let K = cls.config.classes.count
        guard let lptem = cls.config.classes.firstIndex(of: "LPTEM") else {
            throw UserError("\(path): the classifier has no LPTEM class")
        }
        let ref = try readWindows(reference, length: T)
        let (_, refEmb) = cls.predict(ref.trajectories)
        // Motion statistics of paper-normalised trajectories on both sides: LEONARDO's output is normalised, and an
        // ensemble MSD of trajectories in nm weights the fast particles more (the exponent of the real test particles is
        // 0.82 in nm and 0.48 normalised), so only the same normalisation compares like with like.
        let refMotion = MotionSummary(ref.paperNormalized)
        print(
            String(
                format: "reference %@: %d trajectories, step profile CV %.2f, MSD exponent %.3f, VACF(1) %.3f",
                (reference as NSString).lastPathComponent, ref.count, refMotion.stepProfileVariation,
                refMotion.msdExponent, refMotion.vacf[0]))
        print(
            "| candidate | FMD | % LPTEM | n | profile CV | MSD exponent | VACF(1) | other classes (all candidates) |")
        print("|---|---:|---:|---:|---:|---:|---:|---|")
        for file in candidate {
            let cand = try readWindows(file, length: T)
            let (probs, candEmb) = cls.predict(cand.trajectories)
            let n = min(count ?? min(ref.count, cand.count), ref.count, cand.count)
            guard n > E else {
                throw UserError(
                    "\(file): an FMD from \(n) trajectories per set is not defined: it needs more than the embedding's \(E) dimensions (reference \(ref.count), candidate \(cand.count), --count \(count.map(String.init) ?? "all"))"
                )
            }
            var fmds: [Double] = []
            var shares: [Double] = []
            for s in 0..<max(seeds, 1) {
                var rng = Xoshiro256StarStar(seed: UInt64(s))
                var ia = Array(0..<ref.count)
                var ib = Array(0..<cand.count)
                if seeds > 1 || n < ref.count { rng.shuffle(&ia) }
                if seeds > 1 || n < cand.count { rng.shuffle(&ib) }
                let a = ia.prefix(n).flatMap { Array(refEmb[($0 * E)..<(($0 + 1) * E)]) }
                let b = ib.prefix(n).flatMap { Array(candEmb[($0 * E)..<(($0 + 1) * E)]) }
                fmds.append(try FrechetMotionDistance.squaredDistance(a, b, dimension: E))
                let lp = ib.prefix(n).filter { i in (0..<K).max { probs[i * K + $0] < probs[i * K + $1] } == lptem }
                    .count
                shares.append(100 * Double(lp) / Double(n))
            }
            let fm = Estimate(fmds)
            let sh = Estimate(shares)
            var predicted = [Int](repeating: 0, count: K)
            for i in 0..<cand.count { predicted[(0..<K).max { probs[i * K + $0] < probs[i * K + $1] } ?? 0] += 1 }
            let others = (0..<K).filter { $0 != lptem && 200 * predicted[$0] > cand.count }
                .sorted { predicted[$0] > predicted[$1] }
                .map {
                    String(
                        format: "%@ %.1f %%", cls.config.classes[$0], 100 * Double(predicted[$0]) / Double(cand.count))
                }
            let motion = MotionSummary(cand.paperNormalized)
            print(
                String(
                    format: "| %@ | %.3f ± %.3f | %.1f ± %.1f | %d | %.2f | %.3f | %.3f | %@ |",
                    (file as NSString).lastPathComponent,
                    fm.mean, fm.std, sh.mean, sh.std, n, motion.stepProfileVariation, motion.msdExponent,
                    motion.vacf[0],
                    others.isEmpty ? "—" : others.joined(separator: ", ")))
        }
    }
}
