import ArgumentParser
import Foundation

/// `--overwrite`: existing output files are replaced only when asked.
struct OverwriteOption: ParsableArguments {
    @Flag(help: "Replace existing output files (an input is never replaced).") var overwrite = false
}

/// A path resolved to compare files: absolute, standardised, symbolic links followed.
func canonicalPath(_ path: String) -> String {
    URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
}

/// Refuses the first of `paths` that does not exist or cannot be read as a file, naming it.
func requireReadableFiles(_ paths: [String]) throws {
    for path in paths {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw UserError("\(path): no such file")
        }
        guard !isFolder.boolValue, FileManager.default.isReadableFile(atPath: path) else {
            throw UserError("\(path): cannot be read as a file")
        }
    }
}

/// Refuses to write `output` when an input is missing or unreadable (inputs are named before outputs), when it is
/// one of `inputs` (always) or when it exists (unless `overwrite`), and removes the stale temporary files of killed
/// writers beside it.
func claimOutput(_ output: String, inputs: [String] = [], overwrite: Bool, flag: String = "--out") throws {
    try requireReadableFiles(inputs)
    let target = canonicalPath(output)
    for input in inputs where canonicalPath(input) == target {
        throw UserError("\(flag) \(output) is also an input of this command: write the output to another file")
    }
    if FileManager.default.fileExists(atPath: output) && !overwrite {
        throw UserError("\(output) already exists: pass --overwrite to replace it, or choose another \(flag)")
    }
    removeStaleTemporaries(in: (target as NSString).deletingLastPathComponent)
}

/// Removes the atomic writers' temporary files (`.NAME.tmp-PID`) in `folder` whose process no longer runs.
func removeStaleTemporaries(in folder: String) {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
    for name in names where name.hasPrefix(".") {
        guard let range = name.range(of: ".tmp-", options: .backwards), let pid = Int32(name[range.upperBound...]),
            pid > 0, pid != getpid()
        else { continue }
        if kill(pid, 0) != 0 && errno == ESRCH {
            unlink((folder as NSString).appendingPathComponent(name))
        }
    }
}

/// An exclusive lock on an output (a run folder or a checkpoint) while this process writes it: a second writer is
/// refused with the holder's PID. The kernel drops the lock when the process ends, however it ends.
final class OutputLock {
    private let descriptor: Int32

    /// Locks `lockFile` (created if missing); `what` names the output in the error.
    init(_ lockFile: String, what: String) throws {
        let fd = open(lockFile, O_RDWR | O_CREAT, 0o644)
        guard fd >= 0 else {
            throw UserError("cannot create the lock file \(lockFile): \(String(cString: strerror(errno)))")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = read(fd, &buffer, 31)
            close(fd)
            let holder =
                n > 0
                ? String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
            throw UserError("\(what) is being written by another process (PID \(holder)); wait for it or stop it")
        }
        ftruncate(fd, 0)
        let pid = Array("\(getpid())\n".utf8)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        descriptor = fd
    }

    deinit { close(descriptor) }
}
