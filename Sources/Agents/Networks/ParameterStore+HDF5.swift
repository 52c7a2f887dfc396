import Foundation
import LeonardoSim

extension ParameterStore {
    /// Writes every tensor into an open HDF5 file as `prefix/name` (the agents' policy files).
    public func write(to f: HDF5File, prefix: String) throws {
        for r in refs {
            try f.write(prefix + "/" + r.name, UnsafeBufferPointer(start: value(r), count: r.count), shape: r.shape)
        }
    }

    /// Reads tensors written by `write`, checking names, shapes and that every value is finite.
    public func read(from f: HDF5File, prefix: String) throws {
        for r in refs {
            let name = prefix + "/" + r.name
            let shape = try f.shape(name)
            guard shape == r.shape else {
                throw LeonardoError.shapeMismatch(file: f.path, name: name, expected: r.shape, found: shape)
            }
            let data = try f.readFloat(name).data
            guard data.allSatisfy({ $0.isFinite }) else { throw LeonardoError.nonFinite(file: f.path, name: name) }
            value(r).update(from: data, count: r.count)
        }
    }
}
