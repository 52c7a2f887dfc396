import Foundation
import LeonardoSim

/// The registry of environment specs by versioned ID (Gymnasium's `gym.make`).
///
/// Spec files are the `*.json` files of the environments folder: `$MICROSCOPEGYM_ENVIRONMENTS` when set,
/// otherwise the package's `Environments/` folder. Users add scenarios with a spec file of their own
/// (`makeEnvironment(specFile:)`, `gym-runner --env-file PATH`).
public enum EnvironmentRegistry {
    /// The folder that holds the shipped spec files.
    public static var directory: String {
        // Set but empty gives "", which `checkedIDs` refuses by name.
        if let d = ProcessInfo.processInfo.environment["MICROSCOPEGYM_ENVIRONMENTS"] { return d }
        // The package root: the first folder above this source file that holds Package.swift.
        var folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while folder.path != "/"
            && !FileManager.default.fileExists(atPath: folder.appendingPathComponent("Package.swift").path)
        {
            folder = folder.deletingLastPathComponent()
        }
        return folder.appendingPathComponent("Environments").path
    }

    /// `ids(in:)`, refusing a folder that does not exist or holds no spec file, so that a wrong
    /// `MICROSCOPEGYM_ENVIRONMENTS` (or folder argument) is an error that names it instead of an empty registry.
    public static func checkedIDs(in folder: String? = nil) throws -> [String] {
        let fromVariable = folder == nil && ProcessInfo.processInfo.environment["MICROSCOPEGYM_ENVIRONMENTS"] != nil
        let dir = folder ?? directory
        let origin = fromVariable ? " (MICROSCOPEGYM_ENVIRONMENTS)" : ""
        var isFolder: ObjCBool = false
        guard !dir.isEmpty else {
            throw EnvironmentError.invalidSpec(
                file: "MICROSCOPEGYM_ENVIRONMENTS", field: "-",
                problem: "is set but empty: unset it or name a folder of spec files")
        }
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isFolder), isFolder.boolValue else {
            throw EnvironmentError.invalidSpec(
                file: dir, field: "-", problem: "the environments folder\(origin) does not exist")
        }
        let found = ids(in: dir)
        guard !found.isEmpty else {
            throw EnvironmentError.invalidSpec(
                file: dir, field: "-", problem: "the environments folder\(origin) holds no spec file (*.json)")
        }
        return found
    }

    /// IDs of the registered specs, sorted: those of `folder`, or of `directory` when nil.
    public static func ids(in folder: String? = nil) -> [String] {
        specFiles(in: folder).map { ($0 as NSString).lastPathComponent.replacingOccurrences(of: ".json", with: "") }
            .sorted()
    }

    static func specFiles(in folder: String? = nil) -> [String] {
        let dir = folder ?? directory
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.filter { $0.hasSuffix(".json") }.map { (dir as NSString).appendingPathComponent($0) }
    }

    /// The spec registered under `id` (file `<id>.json` of `folder`, or of `directory` when nil; its `id` field
    /// must agree).
    public static func spec(id: String, in folder: String? = nil) throws -> LiquidCellSpec {
        let path = ((folder ?? directory) as NSString).appendingPathComponent(id + ".json")
        guard !id.contains("/"), FileManager.default.fileExists(atPath: path) else {
            throw EnvironmentError.unknownEnvironment(id, known: ids(in: folder))
        }
        let spec = try LiquidCellSpec.load(path)
        guard spec.id == id else {
            throw EnvironmentError.invalidSpec(
                file: path, field: "id", problem: "is '\(spec.id)' but the file is registered as '\(id)'")
        }
        return spec
    }
}

/// Makes the registered environment `id` (e.g. "LiquidCell-v0") with its shipped checkpoint.
public func makeEnvironment(id: String) throws -> LiquidCell {
    try LiquidCell(spec: EnvironmentRegistry.spec(id: id))
}

/// Makes an environment from a spec file of the user's own.
public func makeEnvironment(specFile: String) throws -> LiquidCell {
    try LiquidCell(spec: LiquidCellSpec.load(specFile))
}
