import ArgumentParser
import Foundation
import LeonardoSim
import MicroscopeGym

/// The default classifier shipped next to the environments' model.
func defaultClassifierPath() -> String {
    (EnvironmentRegistry.directory as NSString).appendingPathComponent("models/classifier-v0.h5")
}

/// Reads a trajectory file and cuts it into windows of `length` frames when it is longer.
func readWindows(_ path: String, length: Int) throws -> TrajectorySet {
    let set = try TrajectorySet.read(path)
    if set.length == length { return set }
    guard set.length > length else {
        throw UserError("\(path): trajectories have \(set.length) frames, need at least \(length)")
    }
    return try set.segmented(window: length)
}

/// The shipped LEONARDO checkpoint (the one `Environments/LiquidCell-v0.json` names).
func defaultLeonardoPath() -> String {
    (EnvironmentRegistry.directory as NSString).appendingPathComponent("models/leonardo-lptem-v0.h5")
}

/// The shipped experimental trajectories and their particle split.
/// The package's `data/` folder (beside `Environments/`).
func packageDataPath(_ name: String) -> String {
    (((EnvironmentRegistry.directory as NSString).deletingLastPathComponent as NSString).appendingPathComponent("data")
        as NSString).appendingPathComponent(name)
}

func defaultRealDataPath() -> String { packageDataPath("aunr_lptem_300.h5") }

func defaultRealSplitPath() -> String { packageDataPath("aunr_lptem_300-split.json") }

/// The LEONARDO checkpoint learned from the real particles (the one `Environments/LiquidCell-v2.json` names).
func defaultRealLeonardoPath() -> String {
    (EnvironmentRegistry.directory as NSString).appendingPathComponent("models/leonardo-real-v2.h5")
}

/// The shipped population prior of `fill`'s fbm residual (`gym-runner fill learn-prior`).
func defaultFillPriorPath() -> String {
    (EnvironmentRegistry.directory as NSString).appendingPathComponent("models/fill-residual-prior-v1.json")
}
