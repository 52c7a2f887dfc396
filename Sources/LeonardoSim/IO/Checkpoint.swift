import Foundation

/// The LEONARDO checkpoint format (HDF5):
/// - one float32 dataset per parameter at the root, named as in the PyTorch `state_dict`
///   (e.g. `encoder.layers.0.attention.values.weight`), with PyTorch shapes;
/// - root attributes `format` ("microscopegym.leonardo/1") and `config` (the `LeonardoConfig` as JSON);
/// - optionally `dose_calibration` (JSON of `DoseCalibration`: latent index, slope, intercept, r);
/// - optionally `latent_prior` (JSON of `LatentPrior`: mean and Cholesky factor of the aggregate posterior);
/// - optionally the optimizer: `optimizer/m/<name>`, `optimizer/v/<name>` and the root attribute
///   `training_state` (JSON of `TrainingState`, including the Adam step and the generator state).
/// h5py reads it with `h5py.File(path)["decoder.conv_out.weight"][...]`.
public enum LeonardoCheckpoint {
    public static let formatTag = "microscopegym.leonardo/1"

    /// Writes model (and optionally optimizer + training state) atomically.
    public static func save(
        _ model: Leonardo, to path: String, optimizer: Adam? = nil, state: TrainingState? = nil,
        extraAttributes: [String: String] = [:], float16: Bool = false
    ) throws {
        let store = model.parameters
        try writeHDF5Atomically(path) { f in
            f.storeFloatsAsHalf = float16 && optimizer == nil
            try f.setAttribute("format", formatTag)
            try f.setAttribute("config", String(decoding: try JSONEncoder.sorted.encode(model.config), as: UTF8.self))
            try f.setAttribute("parameter_count", store.count)
            for (k, v) in extraAttributes { try f.setAttribute(k, v) }
            if let calibration = model.doseCalibration {
                try f.setAttribute(
                    "dose_calibration", String(decoding: try JSONEncoder.sorted.encode(calibration), as: UTF8.self))
            }
            if let prior = model.latentPrior {
                try f.setAttribute(
                    "latent_prior", String(decoding: try JSONEncoder.sorted.encode(prior), as: UTF8.self))
            }
            for r in store.refs {
                try f.write(r.name, UnsafeBufferPointer(start: store.value(r), count: r.count), shape: r.shape)
            }
            if let optimizer {
                for r in store.refs {
                    try optimizer.m.withUnsafeBufferPointer {
                        try f.write(
                            "optimizer/m/" + r.name, UnsafeBufferPointer(rebasing: $0[r.offset..<r.offset + r.count]),
                            shape: r.shape)
                    }
                    try optimizer.v.withUnsafeBufferPointer {
                        try f.write(
                            "optimizer/v/" + r.name, UnsafeBufferPointer(rebasing: $0[r.offset..<r.offset + r.count]),
                            shape: r.shape)
                    }
                }
            }
            if let state {
                try f.setAttribute(
                    "training_state", String(decoding: try JSONEncoder.sorted.encode(state), as: UTF8.self))
            }
        }
    }

    /// Reads the config stored in a checkpoint (the paper config when the attribute is absent).
    public static func config(of f: HDF5File) throws -> LeonardoConfig {
        guard let json = try f.stringAttribute("config") else { return .paper }
        do { return try JSONDecoder().decode(LeonardoConfig.self, from: Data(json.utf8)) } catch {
            throw LeonardoError.hdf5("\(f.path): attribute 'config' is not a valid LEONARDO config (\(error))")
        }
    }

    /// Loads a model, checking every parameter name, shape and value; errors name the first mismatch.
    public static func load(_ path: String, expecting expected: LeonardoConfig? = nil) throws -> Leonardo {
        let f = try HDF5File.open(path)
        defer { f.close() }
        let cfg = try config(of: f)
        if let expected, expected != cfg {
            throw LeonardoError.invalidData("\(path): checkpoint config differs from the expected model config")
        }
        let model = try Leonardo(config: cfg)
        try loadParameters(into: model.parameters, from: f)
        if let json = try f.stringAttribute("dose_calibration") {
            do { model.doseCalibration = try JSONDecoder().decode(DoseCalibration.self, from: Data(json.utf8)) } catch {
                throw LeonardoError.hdf5("\(path): attribute 'dose_calibration' is damaged (\(error))")
            }
        }
        if let json = try f.stringAttribute("latent_prior") {
            do { model.latentPrior = try JSONDecoder().decode(LatentPrior.self, from: Data(json.utf8)) } catch {
                throw LeonardoError.hdf5("\(path): attribute 'latent_prior' is damaged (\(error))")
            }
            guard model.latentPrior!.dimension == cfg.latentDim,
                model.latentPrior!.cholesky.count == cfg.latentDim * cfg.latentDim
            else {
                throw LeonardoError.invalidData(
                    "\(path): attribute 'latent_prior' has the wrong dimension for this model")
            }
        }
        return model
    }

    static func loadParameters(into store: ParameterStore, from f: HDF5File) throws {
        precondition(!store.isFrozen, "loading weights into a frozen ParameterStore")
        let known = Set(store.refs.map(\.name))
        for name in f.datasetNames() where !name.hasPrefix("optimizer/") && !known.contains(name) {
            throw LeonardoError.invalidData("\(f.path): unexpected parameter '\(name)' (not part of this model config)")
        }
        for r in store.refs {
            let shape = try f.shape(r.name)
            if shape != r.shape {
                throw LeonardoError.shapeMismatch(file: f.path, name: r.name, expected: r.shape, found: shape)
            }
            let (_, data) = try f.readFloat(r.name)
            if data.contains(where: { !$0.isFinite }) { throw LeonardoError.nonFinite(file: f.path, name: r.name) }
            data.withUnsafeBufferPointer { store.value(r).update(from: $0.baseAddress!, count: r.count) }
        }
    }

    /// Loads optimizer moments and the training state, if the checkpoint has them.
    /// The training options saved in a checkpoint (nil for a weights-only file), without loading anything else.
    public static func trainingOptions(_ path: String) throws -> TrainingOptions? {
        let f = try HDF5File.open(path)
        defer { f.close() }
        guard let json = try f.stringAttribute("training_state") else { return nil }
        do { return try JSONDecoder().decode(TrainingState.self, from: Data(json.utf8)).options } catch {
            throw LeonardoError.hdf5("\(path): attribute 'training_state' is damaged (\(error))")
        }
    }

    public static func loadTrainingState(_ path: String, into optimizer: Adam) throws -> TrainingState? {
        let f = try HDF5File.open(path)
        defer { f.close() }
        guard let json = try f.stringAttribute("training_state") else { return nil }
        let state: TrainingState
        do { state = try JSONDecoder().decode(TrainingState.self, from: Data(json.utf8)) } catch {
            throw LeonardoError.hdf5("\(path): attribute 'training_state' is damaged (\(error))")
        }
        let store = optimizer.store
        var m = [Float](repeating: 0, count: store.count)
        var v = m
        for r in store.refs {
            for (prefix, isM) in [("optimizer/m/", true), ("optimizer/v/", false)] {
                let (shape, data) = try f.readFloat(prefix + r.name)
                if shape != r.shape {
                    throw LeonardoError.shapeMismatch(
                        file: path, name: prefix + r.name, expected: r.shape, found: shape)
                }
                if isM {
                    m.replaceSubrange(r.offset..<r.offset + r.count, with: data)
                } else {
                    v.replaceSubrange(r.offset..<r.offset + r.count, with: data)
                }
            }
        }
        optimizer.restore(m: m, v: v, step: state.optimizerStep)
        return state
    }
}

extension JSONEncoder {
    /// A JSON encoder with sorted keys (stable files for diffs and golden tests).
    public static var sorted: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }
}

extension Leonardo {
    /// Loads a checkpoint written by `save` or by `tools/convert_pytorch_checkpoint.py`.
    public static func load(_ path: String) throws -> Leonardo { try LeonardoCheckpoint.load(path) }

    /// Saves the model (weights and config) atomically.
    public func save(_ path: String) throws { try LeonardoCheckpoint.save(self, to: path) }
}
