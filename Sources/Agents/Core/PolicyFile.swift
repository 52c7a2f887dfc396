import Foundation
import LeonardoSim
import MicroscopeGym

/// The policy file format: HDF5 with attributes `format`, `agent` and the agent's own datasets/attributes.
public enum PolicyFile {
    public static let format = "microscopegym.policy/1"

    /// Writes a policy file atomically (temporary file, then rename): the `format` and `agent` attributes, then
    /// the agent's own contents.
    public static func write(_ path: String, agent: String, _ body: (HDF5File) throws -> Void) throws {
        try writeHDF5Atomically(path) { f in
            try f.setAttribute("format", format)
            try f.setAttribute("agent", agent)
            try body(f)
        }
    }
}
