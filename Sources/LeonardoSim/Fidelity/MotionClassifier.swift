import Foundation

/// A MoNet-style 1-D CNN (Jamali et al., PNAS 118, e2017616118, 2021; the LEONARDO paper's MoNet2.0 role) that
/// tells the seven motion classes (BM, FBM, CTRW, ATTM, SBM, LW, LPTEM) apart. Its second-to-last layer is the
/// embedding for the Fréchet Motion Distance.
///
/// Input per trajectory (T×2 positions): normalise as in the paper (eq. 6), take the T−1 steps, divide by their
/// RMS s, and feed 4 channels per step: Δx/s, Δy/s, |Δr|/s and log₁₀ s (constant over time; carries the step
/// scale relative to the explored range). Layers: conv 4→C (k 5) · ReLU · conv C→C (k 5, stride 2) · ReLU ·
/// conv C→2C (k 5, stride 2) · ReLU · mean over time · linear 2C→E · ReLU (the embedding) · linear E→classes.
public final class MotionClassifier {
    public struct Config: Codable, Equatable, Sendable {
        public var length = 200
        public var channels = 32
        public var embedding = 64
        public var classes = MotionClass.names
        public init() {}
    }
    public static let formatTag = "microscopegym.classifier/1"

    public let config: Config
    public let parameters = ParameterStore()
    let conv1: Conv1d, conv2: Conv1d, conv3: Conv1d
    let fc1: Linear, fc2: Linear
    let L0: Int, L1: Int, L2: Int, L3: Int
    // Activations and gradients (preallocated per batch capacity).
    var capacity = 0
    var x0 = FloatBuffer(), a1 = FloatBuffer(), a2 = FloatBuffer(), a3 = FloatBuffer(), pooled = FloatBuffer()
    var emb = FloatBuffer(), logits = FloatBuffer()
    var g1 = FloatBuffer(), g2 = FloatBuffer(), g3 = FloatBuffer(), gPooled = FloatBuffer(), gEmb = FloatBuffer(),
        gLogits = FloatBuffer()

    public init(config: Config = Config(), seed: UInt64 = 0) {
        self.config = config
        let C = config.channels
        conv1 = Conv1d(parameters, "conv1", 4, C, kernel: 5, padding: 2)
        conv2 = Conv1d(parameters, "conv2", C, C, kernel: 5, stride: 2, padding: 2)
        conv3 = Conv1d(parameters, "conv3", C, 2 * C, kernel: 5, stride: 2, padding: 2)
        fc1 = Linear(parameters, "fc1", 2 * C, config.embedding)
        fc2 = Linear(parameters, "fc2", config.embedding, config.classes.count)
        L0 = config.length - 1
        L1 = conv1.outLength(L0)
        L2 = conv2.outLength(L1)
        L3 = conv3.outLength(L2)
        var rng = Xoshiro256StarStar(seed: seed)
        parameters.finalize(rng: &rng)
    }

    func reserve(_ n: Int) {
        guard n > capacity else { return }
        capacity = n
        let C = config.channels
        x0 = FloatBuffer(count: n * L0 * 4)
        a1 = FloatBuffer(count: n * L1 * C)
        a2 = FloatBuffer(count: n * L2 * C)
        a3 = FloatBuffer(count: n * L3 * 2 * C)
        pooled = FloatBuffer(count: n * 2 * C)
        emb = FloatBuffer(count: n * config.embedding)
        logits = FloatBuffer(count: n * config.classes.count)
        g1 = FloatBuffer(count: n * L1 * C)
        g2 = FloatBuffer(count: n * L2 * C)
        g3 = FloatBuffer(count: n * L3 * 2 * C)
        gPooled = FloatBuffer(count: n * 2 * C)
        gEmb = FloatBuffer(count: n * config.embedding)
        gLogits = FloatBuffer(count: n * config.classes.count)
    }

    /// Fills the input channels for `n` raw trajectories (n×T×2).
    func prepare(_ r: UnsafePointer<Float>, n: Int) {
        let T = config.length
        for i in 0..<n {
            let p = r + i * T * 2
            var minX = Float.infinity
            var minY = Float.infinity
            var maxX = -Float.infinity
            var maxY = -Float.infinity
            for t in 0..<T {
                minX = min(minX, p[2 * t])
                maxX = max(maxX, p[2 * t])
                minY = min(minY, p[2 * t + 1])
                maxY = max(maxY, p[2 * t + 1])
            }
            var range = Double(max(maxX - minX, maxY - minY))
            if !(range > 0) { range = 1 }
            var ss = 0.0
            for t in 0..<L0 {
                let dx = Double(p[2 * t + 2] - p[2 * t]) / range
                let dy = Double(p[2 * t + 3] - p[2 * t + 1]) / range
                ss += dx * dx + dy * dy
            }
            let s = max((ss / Double(L0)).squareRoot(), 1e-12)
            let logS = Float(log10(s))
            let out = x0.pointer + i * L0 * 4
            for t in 0..<L0 {
                let dx = Double(p[2 * t + 2] - p[2 * t]) / range / s
                let dy = Double(p[2 * t + 3] - p[2 * t + 1]) / range / s
                out[4 * t] = Float(dx)
                out[4 * t + 1] = Float(dy)
                out[4 * t + 2] = Float((dx * dx + dy * dy).squareRoot())
                out[4 * t + 3] = logS
            }
        }
    }

    @inline(__always) func relu(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n where p[i] < 0 { p[i] = 0 }
    }

    /// Forward pass for n trajectories; fills `emb` and `logits`.
    func forward(_ r: UnsafePointer<Float>, n: Int) {
        reserve(n)
        prepare(r, n: n)
        let C = config.channels
        conv1.forward(x0.pointer, a1.pointer, batch: n, length: L0)
        relu(a1.pointer, n * L1 * C)
        conv2.forward(a1.pointer, a2.pointer, batch: n, length: L1)
        relu(a2.pointer, n * L2 * C)
        conv3.forward(a2.pointer, a3.pointer, batch: n, length: L2)
        relu(a3.pointer, n * L3 * 2 * C)
        let C2 = 2 * C
        for i in 0..<n {
            let dst = pooled.pointer + i * C2
            dst.update(repeating: 0, count: C2)
            for t in 0..<L3 {
                let src = a3.pointer + (i * L3 + t) * C2
                for c in 0..<C2 { dst[c] += src[c] }
            }
            for c in 0..<C2 { dst[c] /= Float(L3) }
        }
        fc1.forward(pooled.pointer, emb.pointer, rows: n)
        relu(emb.pointer, n * config.embedding)
        fc2.forward(emb.pointer, logits.pointer, rows: n)
    }

    /// Mean softmax cross-entropy of a batch against `labels`; with `backward`, adds its gradient.
    func loss(labels: UnsafePointer<Int64>, n: Int, backward: Bool) -> Double {
        let K = config.classes.count
        var total = 0.0
        for i in 0..<n {
            let z = logits.pointer + i * K
            var m = z[0]
            for k in 1..<K { m = max(m, z[k]) }
            var sum = 0.0
            for k in 0..<K { sum += exp(Double(z[k] - m)) }
            let y = Int(labels[i])
            total += -(Double(z[y] - m) - log(sum))
            if backward {
                let g = gLogits.pointer + i * K
                for k in 0..<K { g[k] = Float(exp(Double(z[k] - m)) / sum / Double(n)) - (k == y ? 1 / Float(n) : 0) }
            }
        }
        return total / Double(n)
    }

    func backward(n: Int) {
        let C = config.channels
        let C2 = 2 * C
        let E = config.embedding
        gEmb.pointer.update(repeating: 0, count: n * E)
        fc2.backward(emb.pointer, gLogits.pointer, gEmb.pointer, rows: n)
        for i in 0..<(n * E) where emb.pointer[i] <= 0 { gEmb.pointer[i] = 0 }
        gPooled.pointer.update(repeating: 0, count: n * C2)
        fc1.backward(pooled.pointer, gEmb.pointer, gPooled.pointer, rows: n)
        for i in 0..<n {
            let src = gPooled.pointer + i * C2
            for t in 0..<L3 {
                let dst = g3.pointer + (i * L3 + t) * C2
                let act = a3.pointer + (i * L3 + t) * C2
                for c in 0..<C2 { dst[c] = act[c] > 0 ? src[c] / Float(L3) : 0 }
            }
        }
        g2.pointer.update(repeating: 0, count: n * L2 * C)
        conv3.backward(a2.pointer, g3.pointer, g2.pointer, batch: n, length: L2)
        for i in 0..<(n * L2 * C) where a2.pointer[i] <= 0 { g2.pointer[i] = 0 }
        g1.pointer.update(repeating: 0, count: n * L1 * C)
        conv2.backward(a1.pointer, g2.pointer, g1.pointer, batch: n, length: L1)
        for i in 0..<(n * L1 * C) where a1.pointer[i] <= 0 { g1.pointer[i] = 0 }
        conv1.backward(x0.pointer, g1.pointer, nil, batch: n, length: L0)
    }

    /// Class probabilities and embeddings of n trajectories (n×T×2), in chunks.
    public func predict(_ trajectories: [Float]) -> (probabilities: [Float], embeddings: [Float]) {
        let T = config.length
        let K = config.classes.count
        let E = config.embedding
        let n = trajectories.count / (T * 2)
        var probs = [Float](repeating: 0, count: n * K)
        var embs = [Float](repeating: 0, count: n * E)
        trajectories.withUnsafeBufferPointer { tp in
            var s = 0
            while s < n {
                let m = min(256, n - s)
                forward(tp.baseAddress! + s * T * 2, n: m)
                for i in 0..<m {
                    let z = logits.pointer + i * K
                    var mx = z[0]
                    for k in 1..<K { mx = max(mx, z[k]) }
                    var sum: Float = 0
                    for k in 0..<K { sum += exp(z[k] - mx) }
                    for k in 0..<K { probs[(s + i) * K + k] = exp(z[k] - mx) / sum }
                    for e in 0..<E { embs[(s + i) * E + e] = emb.pointer[i * E + e] }
                }
                s += m
            }
        }
        return (probs, embs)
    }

    /// Trains on a labelled set with Adam; calls `progress(epoch, step, loss)` now and then. Deterministic for a seed.
    public func train(
        _ set: TrajectorySet, epochs: Int, batchSize: Int = 64, learningRate: Float = 1e-3, seed: UInt64,
        progress: ((Int, Int, Double) -> Void)? = nil
    ) throws {
        guard set.length == config.length else {
            throw LeonardoError.invalidData("classifier expects \(config.length)-frame trajectories, got \(set.length)")
        }
        guard let labels = set.labels else { throw LeonardoError.invalidData("classifier training needs 'labels'") }
        guard labels.allSatisfy({ $0 >= 0 && Int($0) < config.classes.count }) else {
            throw LeonardoError.invalidData("labels outside 0..<\(config.classes.count)")
        }
        let adam = Adam(parameters, learningRate: learningRate)
        var rng = Xoshiro256StarStar(seed: seed)
        var order = Array(0..<set.count)
        let T = config.length
        var batch = [Float](repeating: 0, count: batchSize * T * 2)
        var batchLabels = [Int64](repeating: 0, count: batchSize)
        var step = 0
        for epoch in 0..<epochs {
            rng.shuffle(&order)
            var start = 0
            while start < set.count {
                let m = min(batchSize, set.count - start)
                for b in 0..<m {
                    let i = order[start + b]
                    for j in 0..<(T * 2) { batch[b * T * 2 + j] = set.trajectories[i * T * 2 + j] }
                    batchLabels[b] = labels[i]
                }
                batch.withUnsafeBufferPointer { forward($0.baseAddress!, n: m) }
                let l = batchLabels.withUnsafeBufferPointer { loss(labels: $0.baseAddress!, n: m, backward: true) }
                parameters.zeroGrads()
                backward(n: m)
                adam.clipGradients(maxNorm: 5)
                adam.update()
                step += 1
                progress?(epoch, step, l)
                start += m
            }
        }
    }

    // MARK: Files

    public func save(_ path: String) throws {
        try writeHDF5Atomically(path) { f in
            try f.setAttribute("format", MotionClassifier.formatTag)
            try f.setAttribute("config", String(decoding: try JSONEncoder.sorted.encode(config), as: UTF8.self))
            for r in parameters.refs {
                try f.write(r.name, UnsafeBufferPointer(start: parameters.value(r), count: r.count), shape: r.shape)
            }
        }
    }

    public static func load(_ path: String) throws -> MotionClassifier {
        let f = try HDF5File.open(path)
        defer { f.close() }
        guard try f.stringAttribute("format") == formatTag, let json = try f.stringAttribute("config"),
            let cfg = try? JSONDecoder().decode(Config.self, from: Data(json.utf8))
        else {
            throw LeonardoError.invalidData("\(path): not a MicroscopeGym motion classifier (format \(formatTag))")
        }
        let c = MotionClassifier(config: cfg)
        try LeonardoCheckpoint.loadParameters(into: c.parameters, from: f)
        return c
    }
}
