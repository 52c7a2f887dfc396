import Foundation

/// A set of 2-D trajectories in the project's one HDF5 layout:
/// `trajectories` (N×T×2 float32), optional `dose` (N), `labels` (N, int64 class index; class names in the
/// attribute `label_names`, JSON list), `alpha` (N), and string attributes describing the generator.
public struct TrajectorySet: Equatable {
    public var trajectories: [Float]
    public var count: Int
    public var length: Int
    public var dose: [Float]?
    public var labels: [Int64]?
    public var labelNames: [String]?
    public var alpha: [Float]?
    public var attributes: [String: String]

    public init(
        trajectories: [Float], count: Int, length: Int, dose: [Float]? = nil, labels: [Int64]? = nil,
        labelNames: [String]? = nil, alpha: [Float]? = nil, attributes: [String: String] = [:]
    ) {
        precondition(trajectories.count == count * length * 2)
        self.trajectories = trajectories
        self.count = count
        self.length = length
        self.dose = dose
        self.labels = labels
        self.labelNames = labelNames
        self.alpha = alpha
        self.attributes = attributes
    }

    /// Reads and validates a trajectory file; errors name the file and the offending dataset.
    public static func read(_ path: String) throws -> TrajectorySet {
        let f = try HDF5File.open(path)
        defer { f.close() }
        let shape = try f.shape("trajectories")
        guard shape.count == 3, shape[2] == 2, shape[0] >= 1, shape[1] >= 3 else {
            throw LeonardoError.invalidData(
                "\(path): dataset 'trajectories' has shape \(shape), expected N×T×2 with T ≥ 3")
        }
        let (_, data) = try f.readFloat("trajectories")
        if data.contains(where: { !$0.isFinite }) { throw LeonardoError.nonFinite(file: path, name: "trajectories") }
        let n = shape[0]
        func optionalVector(_ name: String) throws -> [Float]? {
            guard f.exists(name) else { return nil }
            let s = try f.shape(name)
            if s != [n] { throw LeonardoError.shapeMismatch(file: path, name: name, expected: [n], found: s) }
            return try f.readFloat(name).data
        }
        var labels: [Int64]? = nil
        if f.exists("labels") {
            let s = try f.shape("labels")
            if s != [n] { throw LeonardoError.shapeMismatch(file: path, name: "labels", expected: [n], found: s) }
            labels = try f.readInt64("labels").data
        }
        var names: [String]? = nil
        if let json = try f.stringAttribute("label_names") {
            names = try? JSONDecoder().decode([String].self, from: Data(json.utf8))
        }
        var attrs: [String: String] = [:]
        for key in ["generator", "parameters", "source", "particles"] {
            if let v = try f.stringAttribute(key) { attrs[key] = v }
        }
        return TrajectorySet(
            trajectories: data, count: n, length: shape[1], dose: try optionalVector("dose"), labels: labels,
            labelNames: names, alpha: try optionalVector("alpha"), attributes: attrs)
    }

    /// Writes the set atomically.
    public func write(_ path: String) throws {
        try writeHDF5Atomically(path) { f in
            try f.write("trajectories", trajectories, shape: [count, length, 2])
            if let dose { try f.write("dose", dose, shape: [count]) }
            if let labels { try f.write("labels", labels, shape: [count]) }
            if let alpha { try f.write("alpha", alpha, shape: [count]) }
            if let labelNames {
                try f.setAttribute(
                    "label_names", String(decoding: try JSONEncoder.sorted.encode(labelNames), as: UTF8.self))
            }
            for (k, v) in attributes.sorted(by: { $0.key < $1.key }) { try f.setAttribute(k, v) }
        }
    }

    /// The trajectories at `indices`, in that order, with their per-trajectory vectors.
    public func subset(_ indices: [Int]) -> TrajectorySet {
        var out = [Float]()
        out.reserveCapacity(indices.count * length * 2)
        for i in indices { out.append(contentsOf: trajectories[(i * length * 2)..<((i + 1) * length * 2)]) }
        return TrajectorySet(
            trajectories: out, count: indices.count, length: length, dose: dose.map { d in indices.map { d[$0] } },
            labels: labels.map { l in indices.map { l[$0] } }, labelNames: labelNames,
            alpha: alpha.map { a in indices.map { a[$0] } }, attributes: attributes)
    }

    /// The trajectories normalised per trajectory (paper eq. 6).
    public func normalized() -> [Float] { TrajectoryNormalization.normalize(trajectories, length: length).normalized }

    /// This set with its trajectories normalised (paper eq. 6) and everything else kept: the form in which files in nm
    /// and LEONARDO's normalised output compare like with like (an ensemble MSD in nm weights fast particles more).
    public var paperNormalized: TrajectorySet {
        var set = self
        set.trajectories = normalized()
        return set
    }

    /// Cuts every trajectory into consecutive non-overlapping windows of `window` frames after keeping every
    /// `subsample`-th frame (paper appendix A). Per-trajectory vectors (dose, labels, alpha) follow their windows.
    public func segmented(window: Int, subsample: Int = 1) throws -> TrajectorySet {
        guard window >= 3 else { throw LeonardoError.invalidArgument("window must be at least 3 frames") }
        guard subsample >= 1 else { throw LeonardoError.invalidArgument("subsample must be at least 1") }
        var out: [Float] = []
        var dose: [Float] = []
        var labels: [Int64] = []
        var alpha: [Float] = []
        var n = 0
        for i in 0..<count {
            let frames = stride(from: 0, to: length, by: subsample).map { $0 }
            var start = 0
            while start + window <= frames.count {
                for t in frames[start..<(start + window)] {
                    out.append(trajectories[(i * length + t) * 2])
                    out.append(trajectories[(i * length + t) * 2 + 1])
                }
                if let d = self.dose { dose.append(d[i]) }
                if let l = self.labels { labels.append(l[i]) }
                if let a = self.alpha { alpha.append(a[i]) }
                n += 1
                start += window
            }
        }
        guard n > 0 else {
            throw LeonardoError.invalidData(
                "no \(window)-frame window fits in trajectories of \(length) frames subsampled by \(subsample)")
        }
        return TrajectorySet(
            trajectories: out, count: n, length: window, dose: self.dose == nil ? nil : dose,
            labels: self.labels == nil ? nil : labels, labelNames: labelNames,
            alpha: self.alpha == nil ? nil : alpha, attributes: attributes)
    }
}
