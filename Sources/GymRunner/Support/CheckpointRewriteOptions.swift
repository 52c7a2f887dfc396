import ArgumentParser
import Foundation
import LeonardoSim

/// The options of the commands that fit something to a checkpoint and write the checkpoint with it.
struct CheckpointRewriteOptions: ParsableArguments {
    @Option(help: "LEONARDO checkpoint (HDF5).") var checkpoint: String
    @Option(help: "Use at most this many trajectories.") var limit: Int?
    @Option(help: "Output checkpoint (another file than --checkpoint).") var out: String
    @OptionGroup var overwriting: OverwriteOption

    /// Refuses an --out that is an input or exists (without --overwrite).
    func claim(inputs: [String]) throws {
        try claimOutput(out, inputs: [checkpoint] + inputs, overwrite: overwriting.overwrite)
    }
    @Flag(help: "Store the weights as IEEE float16 (half the size; for the shipped model).") var float16 = false

    /// The first --limit trajectories of `set` (all without --limit).
    func limited(_ set: TrajectorySet) -> TrajectorySet {
        if let limit, limit < set.count { return set.subset(Array(0..<limit)) }
        return set
    }

    /// Writes the model to --out (float16 with --float16), without optimizer state.
    func save(_ model: Leonardo) throws { try LeonardoCheckpoint.save(model, to: out, float16: float16) }
}
