import Foundation

/// The motion classes of the project's data sets, in label order (the `labels` index of a trajectory file).
public enum MotionClass: String, CaseIterable, Codable, Sendable {
    case bm, fbm, ctrw, attm, sbm, lw, lptem

    /// Class names as stored in the `label_names` attribute.
    public static let names = ["BM", "FBM", "CTRW", "ATTM", "SBM", "LW", "LPTEM"]
    public var label: Int64 { Int64(MotionClass.allCases.firstIndex(of: self)!) }
    public var name: String { MotionClass.names[Int(label)] }

    /// The paper's parameter sampling (section 3.3): α ~ U(0.1, 1.0) for FBM, CTRW, ATTM and SBM,
    /// α ~ U(1.0, 2.0) for LW (open at 1 and 2 where the process needs it), BM canonical (α = 1).
    /// LPTEM-like trajectories have no single α (NaN).
    public func sampleAlpha(using rng: inout Xoshiro256StarStar) -> Double {
        switch self {
        case .bm: return 1
        case .fbm, .ctrw, .attm, .sbm: return 0.1 + 0.9 * rng.uniformPositive()
        case .lw: return 1 + 1e-6 + (1 - 2e-6) * rng.uniform()
        case .lptem: return .nan
        }
    }
}

/// What `TrajectoryDataset.generate` makes: one class, or a balanced random mixture of all seven.
public enum DatasetKind: String, CaseIterable, Codable, Sendable {
    case bm, fbm, ctrw, attm, sbm, lw, lptem, mixed
}

/// Generation of labelled trajectory sets in the project's HDF5 layout.
public enum TrajectoryDataset {
    /// The generator of trajectory `index` of a set with `seed`: independent of how the work is split over
    /// threads, so the same seed gives bit-identical files on any machine.
    public static func generator(seed: UInt64, index: Int) -> Xoshiro256StarStar {
        var mix = Xoshiro256StarStar(seed: seed)
        let base = mix.next()
        return Xoshiro256StarStar(seed: base ^ (UInt64(index) &* 0x9E37_79B9_7F4A_7C15))
    }

    /// Generates `count` trajectories of `length` frames.
    /// - Parameters:
    ///   - doseRange: dose rates (e⁻ Å⁻² s⁻¹) for LPTEM-like trajectories, drawn log-uniformly per trajectory.
    ///   - progress: called now and then with the number of finished trajectories.
    /// Classical processes are in units of their unit step; LPTEM-like trajectories are in nm. The `dose` of
    /// a classical trajectory in a mixed set is NaN, as is the `alpha` of an LPTEM-like one.
    public static func generate(
        kind: DatasetKind, count: Int, length T: Int, seed: UInt64,
        doseRange: ClosedRange<Double> = 1...100, model: LPTEMModel = LPTEMModel(),
        progress: ((Int) -> Void)? = nil
    ) throws -> TrajectorySet {
        guard count >= 1 else { throw LeonardoError.invalidArgument("count must be at least 1") }
        guard T >= 3 else { throw LeonardoError.invalidArgument("length must be at least 3 frames") }
        guard doseRange.lowerBound > 0, doseRange.upperBound.isFinite else {
            throw LeonardoError.invalidArgument("dose range must be positive and finite, got \(doseRange)")
        }
        try model.validate()
        var data = [Float](repeating: 0, count: count * T * 2)
        var labels = [Int64](repeating: 0, count: count)
        var alpha = [Float](repeating: .nan, count: count)
        var dose = [Float](repeating: .nan, count: count)
        let logLow = Foundation.log(doseRange.lowerBound)
        let logHigh = Foundation.log(doseRange.upperBound)
        let done = ManagedAtomicCounter()
        let chunk = 256
        let chunks = (count + chunk - 1) / chunk
        data.withUnsafeMutableBufferPointer { dp in
            labels.withUnsafeMutableBufferPointer { lp in
                alpha.withUnsafeMutableBufferPointer { ap in
                    dose.withUnsafeMutableBufferPointer { sp in
                        let dptr = dp.baseAddress!
                        let lptr = lp.baseAddress!
                        let aptr = ap.baseAddress!
                        let sptr = sp.baseAddress!
                        parallelFor(chunks) { c, worker in
                            for i in (c * chunk)..<min(count, (c + 1) * chunk) {
                                var rng = generator(seed: seed, index: i)
                                let cls: MotionClass
                                switch kind {
                                case .mixed: cls = MotionClass.allCases[rng.uniformInt(MotionClass.allCases.count)]
                                default: cls = MotionClass(rawValue: kind.rawValue)!
                                }
                                let a = cls.sampleAlpha(using: &rng)
                                var d = Double.nan
                                let r: [Double]
                                switch cls {
                                case .bm: r = DiffusionProcess.brownian(length: T, using: &rng)
                                case .fbm: r = DiffusionProcess.fractionalBrownian(alpha: a, length: T, using: &rng)
                                case .ctrw: r = DiffusionProcess.ctrw(alpha: a, length: T, using: &rng)
                                case .attm: r = DiffusionProcess.attm(alpha: a, length: T, using: &rng)
                                case .sbm: r = DiffusionProcess.scaledBrownian(alpha: a, length: T, using: &rng)
                                case .lw: r = DiffusionProcess.levyWalk(alpha: a, length: T, using: &rng)
                                case .lptem:
                                    d = Foundation.exp(logLow + (logHigh - logLow) * rng.uniform())
                                    r = model.trajectory(doseRate: d, length: T, using: &rng)
                                }
                                for j in 0..<(2 * T) { dptr[i * 2 * T + j] = Float(r[j]) }
                                lptr[i] = cls.label
                                aptr[i] = Float(a)
                                sptr[i] = Float(d)
                            }
                            let finished = done.add(min(count, (c + 1) * chunk) - c * chunk)
                            if worker == 0 { progress?(finished) }
                        }
                    }
                }
            }
        }
        progress?(count)
        let hasDose = kind == .lptem || kind == .mixed
        let hasAlpha = kind != .lptem
        let parameters: String
        if hasDose {
            let json = String(decoding: try JSONEncoder.sorted.encode(model), as: UTF8.self)
            parameters =
                "{\"dose_range\":[\(doseRange.lowerBound),\(doseRange.upperBound)],\"length\":\(T),\"lptem_model\":\(json),\"seed\":\(seed)}"
        } else {
            parameters = "{\"length\":\(T),\"seed\":\(seed)}"
        }
        return TrajectorySet(
            trajectories: data, count: count, length: T, dose: hasDose ? dose : nil, labels: labels,
            labelNames: MotionClass.names, alpha: hasAlpha ? alpha : nil,
            attributes: ["generator": "microscopegym.\(kind.rawValue)/1", "parameters": parameters])
    }
}

/// A counter shared by worker threads (progress reporting only; results never depend on it).
final class ManagedAtomicCounter: @unchecked Sendable {
    private var value = 0
    private let lock = NSLock()
    func add(_ n: Int) -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += n
        return value
    }
}
