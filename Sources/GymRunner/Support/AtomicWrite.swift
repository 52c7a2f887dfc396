import ArgumentParser
import Foundation
import LeonardoSim
import MicroscopeGym
import Agents

/// Writes data to a temporary file and renames it over `path` (never a half-written file).
func writeAtomically(_ path: String, _ data: Data) throws {
    let tmp = path + ".tmp"
    guard FileManager.default.createFile(atPath: tmp, contents: data) else {
        throw UserError("\(path): cannot write (folder missing or read-only?)")
    }
    if rename(tmp, path) != 0 { throw UserError("\(path): cannot replace the file") }
}
