import Foundation

/// Trains a LEONARDO model on normalised trajectories with the physics-informed loss and Adam.
/// The data order of epoch e is a shuffle drawn from a generator seeded by (seed, e), so a run resumed
/// from a checkpoint continues with exactly the batches, noise and updates of an uninterrupted run.
public final class LeonardoTrainer {
    public let model: Leonardo
    public let optimizer: Adam
    public let loss: PhysicsLoss
    public private(set) var state: TrainingState
    let data: [Float]
    public let trajectoryCount: Int
    var rng: Xoshiro256StarStar
    var order: [Int] = []
    // batch buffers
    let batch = FloatBuffer(), eps = FloatBuffer(), frameNoise = FloatBuffer()

    /// Dose rate of each training trajectory, NaN where unknown (for `TrainingOptions.doseAnchor`).
    let doseLabels: [Float]?
    let batchDose = FloatBuffer()

    /// `data` holds N×T×2 normalised trajectories (row-major); `doseLabels` one dose rate per trajectory (NaN where
    /// unlabelled), needed when the options have a dose anchor.
    public init(model: Leonardo, data: [Float], options: TrainingOptions, doseLabels: [Float]? = nil) throws {
        let step = model.config.length * model.config.inputChannels
        guard data.count % step == 0, data.count / step >= 1 else {
            throw LeonardoError.invalidData(
                "training data must be N×\(model.config.length)×\(model.config.inputChannels)")
        }
        guard options.batchSize >= 2 else {
            throw LeonardoError.invalidArgument("TrainingOptions.batchSize must be at least 2")
        }
        guard options.learningRate > 0 else {
            throw LeonardoError.invalidArgument("TrainingOptions.learningRate must be positive")
        }
        if options.doseAnchor != nil {
            guard let doseLabels, doseLabels.count == data.count / step else {
                throw LeonardoError.invalidArgument(
                    "a dose anchor needs one dose label (or NaN) per training trajectory")
            }
            guard options.doseAnchor!.index < model.config.latentDim else {
                throw LeonardoError.invalidArgument(
                    "the dose anchor's axis is outside the model's \(model.config.latentDim) latents")
            }
        }
        self.doseLabels = doseLabels
        self.model = model
        self.data = data
        trajectoryCount = data.count / step
        optimizer = Adam(model.parameters, learningRate: options.learningRate)
        loss = PhysicsLoss(weights: options.weights, length: model.config.length)
        rng = Xoshiro256StarStar(seed: options.seed ^ 0x5EED_1EAF)
        state = TrainingState(
            options: options, epoch: 0, stepInEpoch: 0, optimizerStep: 0,
            rngState: rng.stateWords, rngSpareNormal: nil, lastEpochLosses: [])
        makeOrder()
    }

    public var stepsPerEpoch: Int { max(1, trajectoryCount / state.options.batchSize) }
    public var isFinished: Bool { state.epoch >= state.options.epochs }

    private func makeOrder() {
        var g = Xoshiro256StarStar(seed: state.options.seed &+ 0x9E37_79B9 &* UInt64(state.epoch + 1))
        order = Array(0..<trajectoryCount)
        g.shuffle(&order)
    }

    /// Resumes from a checkpoint written by `saveCheckpoint` (weights, Adam moments, position, generator).
    public func resume(from path: String) throws {
        let f = try HDF5File.open(path)
        try LeonardoCheckpoint.loadParameters(into: model.parameters, from: f)
        f.close()
        guard let s = try LeonardoCheckpoint.loadTrainingState(path, into: optimizer) else {
            throw LeonardoError.invalidData("\(path) has no training state to resume from (it holds weights only)")
        }
        var st = s
        st.options.epochs = state.options.epochs  // allow extending a run with more epochs
        // states written before L12–L14 existed hold fewer sums
        st.epochLossSums += [Double](repeating: 0, count: max(0, LossTerms.count - st.epochLossSums.count))
        state = st
        rng = Xoshiro256StarStar(state: s.rngState, spareNormal: s.rngSpareNormal)
        optimizer.learningRate = s.options.learningRate
        loss.weights = s.options.weights
        makeOrder()
    }

    public func saveCheckpoint(_ path: String) throws {
        state.rngState = rng.stateWords
        state.rngSpareNormal = rng.spareNormal
        state.optimizerStep = optimizer.step
        try LeonardoCheckpoint.save(model, to: path, optimizer: optimizer, state: state)
    }

    /// The non-finite loss of the last `step()`, which made no update; nil while training is healthy.
    public private(set) var divergedLoss: Double? = nil

    /// One optimizer step on the next batch; returns the loss terms of that batch.
    @discardableResult
    public func step() -> LossTerms {
        let cfg = model.config
        let B = state.options.batchSize
        let L = cfg.latentDim
        let per = cfg.length * cfg.inputChannels
        let xb = batch.reserve(B * per)
        data.withUnsafeBufferPointer { d in
            for j in 0..<B {
                let idx = order[(state.stepInEpoch * B + j) % trajectoryCount]
                (xb + j * per).update(from: d.baseAddress! + idx * per, count: per)
            }
        }
        let ep = eps.reserve(B * L)
        rng.fillNormal(ep, count: B * L)
        // The stationary decoder's per-frame noise comes after ε from the same generator (none for the authors').
        let noiseCount = model.noiseCount(batch: B)
        let np = frameNoise.reserve(max(noiseCount, 1))
        rng.fillNormal(np, count: noiseCount)
        var anchor: (anchor: DoseAnchor, dose: UnsafePointer<Float>)?
        if let doseAnchor = state.options.doseAnchor, let doseLabels {
            let dp = batchDose.reserve(B)
            for j in 0..<B { dp[j] = doseLabels[order[(state.stepInEpoch * B + j) % trajectoryCount]] }
            anchor = (doseAnchor, UnsafePointer(dp))
        }
        let terms = model.lossAndGradients(
            input: xb, eps: ep, noise: noiseCount > 0 ? np : nil, batch: B, loss: loss,
            doseAnchor: anchor)
        // A non-finite loss leaves the weights and the state as they were: the caller stops (`isDiverged`).
        guard terms.total.isFinite else {
            divergedLoss = terms.total
            return terms
        }
        stage(model.trainingProfile, "gradient clipping") { optimizer.clipGradients(maxNorm: state.options.gradClip) }
        stage(model.trainingProfile, "Adam") { optimizer.update() }
        state.optimizerStep = optimizer.step
        for term in LossTerm.allCases { state.epochLossSums[term.rawValue] += terms[term] }
        state.epochBatches += 1
        state.stepInEpoch += 1
        if state.stepInEpoch >= stepsPerEpoch {
            state.lastEpochLosses = state.epochLossSums.map { $0 / Double(max(state.epochBatches, 1)) }
            state.epochLossSums = [Double](repeating: 0, count: LossTerms.count)
            state.epochBatches = 0
            state.epoch += 1
            state.stepInEpoch = 0
            makeOrder()
        }
        return terms
    }

    /// Loss terms of the model on `data` (normalised N×T×2) with posterior means as latents (no latent noise; the
    /// stationary decoder's per-frame noise comes from a fixed seed, so every evaluation sees the same draws).
    public func evaluate(_ evalData: [Float]) -> LossTerms {
        let cfg = model.config
        let per = cfg.length * cfg.inputChannels
        let L = cfg.latentDim
        let n = evalData.count / per
        let (mu, lv) = model.encode(evalData)
        var noiseRng = Xoshiro256StarStar(seed: 0xE7A1)
        let rec = model.decode(z: mu, rng: &noiseRng)
        return evalData.withUnsafeBufferPointer { x in
            rec.withUnsafeBufferPointer { r in
                mu.withUnsafeBufferPointer { m in
                    lv.withUnsafeBufferPointer { l in
                        loss.evaluate(
                            input: x.baseAddress!, reconstruction: r.baseAddress!, mu: m.baseAddress!,
                            logvar: l.baseAddress!,
                            batch: n, latent: L)
                    }
                }
            }
        }
    }
}
