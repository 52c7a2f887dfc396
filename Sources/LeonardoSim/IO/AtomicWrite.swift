import CHDF5
import Foundation
import HDF5Support

/// Writes an HDF5 file atomically: the content goes to a temporary file beside `path`, which is renamed over
/// `path` only after it was written and closed. A crash mid-write never damages the previous file.
public func writeHDF5Atomically(_ path: String, _ body: (HDF5File) throws -> Void) throws {
    let url = URL(fileURLWithPath: path)
    let dir = url.deletingLastPathComponent().path
    if !FileManager.default.fileExists(atPath: dir) {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
    let tmp = dir + "/." + url.lastPathComponent + ".tmp-\(getpid())"
    do {
        let f = try HDF5File.create(tmp)
        try body(f)
        f.close()
        if rename(tmp, path) != 0 {
            throw LeonardoError.hdf5("cannot move \(tmp) to \(path): \(String(cString: strerror(errno)))")
        }
    } catch {
        unlink(tmp)
        throw error
    }
}

/// Writes bytes atomically: a temporary file beside `path`, renamed over it once complete.
public func writeDataAtomically(_ path: String, _ data: Data) throws {
    let url = URL(fileURLWithPath: path)
    let tmp = url.deletingLastPathComponent().path + "/." + url.lastPathComponent + ".tmp-\(getpid())"
    guard FileManager.default.createFile(atPath: tmp, contents: data) else {
        throw LeonardoError.invalidArgument("\(path): cannot write (folder missing or read-only?)")
    }
    if rename(tmp, path) != 0 {
        let reason = String(cString: strerror(errno))
        unlink(tmp)
        throw LeonardoError.invalidArgument("\(path): cannot replace the file: \(reason)")
    }
}
