import ArgumentParser
import Foundation
import LeonardoSim
import MicroscopeGym
import Agents

/// A training run's configuration: what config.json records, and how `--resume` checks a new invocation against it.
extension Train {
    /// The argument list recorded in a run's config.json.
    func storedArguments(_ configPath: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: configPath),
            let config = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { throw UserError("\(configPath) cannot be read as JSON") }
        guard let arguments = config["arguments"] as? [String] else {
            throw UserError("\(configPath) does not record its arguments (a run of an older version): start it again")
        }
        return arguments
    }

    /// The flags of `invocation` (besides --resume) whose values differ from the run's `stored` arguments.
    func conflictingFlags(_ invocation: [String], stored: [String]) throws -> [String] {
        func json(_ c: [String: Any]) throws -> Data {
            try JSONSerialization.data(withJSONObject: c, options: [.sortedKeys])
        }
        let reference = try json(Train.parse(stored).configuration(arguments: stored))
        var conflicts: [String] = []
        var i = 0
        while i < invocation.count {
            let flag = invocation[i]
            var group = [flag]
            i += 1
            while i < invocation.count && !invocation[i].hasPrefix("--") {
                group.append(invocation[i])
                i += 1
            }
            guard flag.hasPrefix("--"), flag != "--resume" else { continue }
            let changed = try json(Train.parse(stored + group).configuration(arguments: stored))
            if changed != reference { conflicts.append(group.joined(separator: " ")) }
        }
        return conflicts
    }

    /// Everything that defines the run, as config.json records it; `cell` is the run's environment when the caller
    /// has it already (made from --env or --env-file otherwise).
    func configuration(arguments: [String], cell given: LiquidCell? = nil) throws -> [String: Any] {
        let cell = try given ?? environment.make(privileged: privileged)
        var config: [String: Any] = [
            "agent": agent.rawValue, "environment": cell.spec.id, "steps": steps, "seed": seed,
            "eval_every": evalEvery, "eval_episodes": evalEpisodes,
            "fixed_action": fixedAction ?? defaultFixedAction(cell),
            "test_episodes": testEpisodes, "select_on_validation": selectOnValidation,
            "observation_keys": Evaluation.observationKeys(for: cell), "sweep_episodes": sweepEpisodes,
            "bootstrap_truncation": bootstrapTruncation, "checkpoint_every": checkpointEvery,
            "checkpoint": cell.spec.resolvedCheckpoint, "arguments": arguments,
            // What the arithmetic ran on: results are bit-identical only with the same kernels (docs/leonardo.md).
            "inference_kernels": InferenceKernels.current == .simd
                ? "simd (\(KernelLevel.current.name))" : InferenceKernels.current.rawValue,
            "openblas_kernel": OpenBLAS.kernel
        ]
        if let envFile = environment.envFile { config["env_file"] = envFile }
        if agent == .dqn {
            config["dqn"] = try JSONSerialization.jsonObject(
                with: JSONEncoder().encode(try dqn.hyper(totalSteps: steps)))
        }
        if agent == .ppo {
            config["ppo"] = try JSONSerialization.jsonObject(
                with: JSONEncoder().encode(try ppo.hyper(totalSteps: steps)))
        }
        if agent == .cem {
            config["cem"] = try JSONSerialization.jsonObject(with: JSONEncoder().encode(try cem.hyper()))
        }
        return config
    }
}
