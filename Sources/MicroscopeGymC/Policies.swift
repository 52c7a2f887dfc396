import Agents
import Foundation
import LeonardoSim
import MicroscopeGym

// Trained policies through the C ABI: a policy file of any agent (`PolicyFile.load`) behind a handle of its own,
// acting on the flattened observation an agent reads (`Evaluation.observationKeys`: features then instrument, then
// belief for a policy trained with `--belief`), so that Python runs the same Swift agent that gym-runner evaluates.

/// A loaded policy and what it reads.
final class PolicyObject: HandleTarget {
    var agent: any Agent
    let observationSize: Int
    let actionCount: Int
    var busy = false
    init(agent: any Agent, observationSize: Int, actionCount: Int) {
        self.agent = agent
        self.observationSize = observationSize
        self.actionCount = actionCount
    }
}

/// Loads the policy file `path` (any agent's `save`) for the environment of handle `environment` (its spaces and
/// spec; a vector's copies share them) into `policy`; writes the number of observation values it reads into
/// `observationSize`. A policy trained with the hidden state in view (`--privileged`) is refused: the C library's
/// environments do not expose it.
@c(mg_policy_load)
public func mg_policy_load(
    _ path: UnsafePointer<CChar>?, _ environment: Int64, _ policy: UnsafeMutablePointer<Int64>?,
    _ observationSize: UnsafeMutablePointer<Int64>?
) -> Int32 {
    call {
        let file = try string(path, "path")
        let out = try required(policy, "policy")
        let object = try environmentHandles.acquire(environment)
        defer { environmentHandles.release(object) }
        let cell = object.cell
        let view: LiquidCell
        let agent: any Agent
        do {
            view = try PolicyFile.environment(for: file, cell)
            agent = try PolicyFile.load(file, environment: view)
        } catch let error as AgentError {
            throw CallError(.specError, error.description)
        } catch {
            throw CallError(.specError, "\(file): \(error)")
        }
        guard !(agent is RecurrentDQNAgent) else {
            throw CallError(
                .specError,
                "\(file): a recurrent (rdqn) policy carries memory across steps and needs episode boundaries, which "
                    + "mg_policy_act does not have; evaluate it with gym-runner evaluate")
        }
        guard !((agent as? PPOAgent)?.hyper.continuousActions ?? false) else {
            throw CallError(
                .specError,
                "\(file): a continuous PPO policy chooses settings between the grid's, which mg_policy_act (a grid "
                    + "action) cannot return; evaluate it with gym-runner evaluate")
        }
        guard !view.revealsHiddenState else {
            throw CallError(
                .specError,
                "\(file): the policy was trained with privileged information (the hidden state), which the C library's environments do not expose"
            )
        }
        guard !view.observesBelief || object.belief != nil else {
            throw CallError(
                .specError,
                "\(file): the policy was trained with belief features (--belief): make the environment with "
                    + "fill_lost_frames (mg_make_with, MG_FILL_LOST_FRAMES), whose observations hold 'belief'")
        }
        let size = Evaluation.observationSize(for: view)
        out.pointee = policyHandles.insert(
            PolicyObject(agent: agent, observationSize: size, actionCount: cell.actionSpace.n))
        observationSize?.pointee = Int64(size)
    }
}

/// The greedy action of `policy` for the `count` observation values at `observation` (the environment's `features`
/// then `instrument`, as float32), into `action`.
@c(mg_policy_act)
public func mg_policy_act(
    _ policy: Int64, _ observation: UnsafePointer<Float>?, _ count: Int64, _ action: UnsafeMutablePointer<Int64>?
) -> Int32 {
    call {
        let object = try policyHandles.acquire(policy)
        defer { policyHandles.release(object) }
        guard let observation else { throw CallError(.invalidArgument, "observation is a null pointer") }
        let out = try required(action, "action")
        guard count == Int64(object.observationSize) else {
            throw CallError(
                .invalidArgument, "the policy reads \(object.observationSize) observation values, got \(count)")
        }
        let values = Array(UnsafeBufferPointer(start: observation, count: Int(count)))
        guard values.allSatisfy(\.isFinite) else {
            throw CallError(.invalidArgument, "the observation holds NaN or infinite values")
        }
        let a = object.agent.act(values, explore: false)
        guard a >= 0 && a < object.actionCount else {
            throw CallError(.internalError, "the policy chose \(a), outside Discrete(\(object.actionCount))")
        }
        out.pointee = Int64(a)
    }
}

/// The agent name of `policy` ("dqn", "ppo", …) into `buffer`.
@c(mg_policy_name)
public func mg_policy_name(_ policy: Int64, _ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int) -> Int32 {
    call {
        let object = try policyHandles.acquire(policy)
        defer { policyHandles.release(object) }
        try copy(object.agent.name, into: buffer, capacity: capacity)
    }
}

/// Closes a policy handle; an unknown or closed one is an error (status 1) and harmless.
@c(mg_policy_close)
public func mg_policy_close(_ policy: Int64) -> Int32 {
    call {
        try policyHandles.remove(policy)
    }
}
