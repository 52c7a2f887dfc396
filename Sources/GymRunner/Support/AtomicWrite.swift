import ArgumentParser
import Foundation
import LeonardoSim
import MicroscopeGym
import Agents

/// Writes data to a temporary file and renames it over `path` (never a half-written file).
func writeAtomically(_ path: String, _ data: Data) throws {
    do { try writeDataAtomically(path, data) } catch let error as LeonardoError { throw UserError(error.description) }
}
