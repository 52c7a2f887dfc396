import ArgumentParser
import Foundation
import LeonardoSim
import MicroscopeGym
import Agents

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train an agent against a microscope environment (the default command).",
        discussion: """
            Writes to --out: config.json (everything to reproduce), progress.csv (one row per episode and per \
            validation evaluation), checkpoint.h5 (full training state, at the first episode end after every --checkpoint-every steps, so that \
            --resume continues exactly as an uninterrupted run), \
            policy.h5 (the best policy on the validation seeds; policy-final.h5 is the last one), summary.json (the test \
            evaluation, on seeds never used in training or selection, against random, fixed, heuristic and the best fixed \
            setting) and learning_curve.svg. --resume continues a killed run from checkpoint.h5.
            """)

    @Option(help: ArgumentHelp("Agent: \(AgentKind.namesList).")) var agent: AgentKind = .dqn
    @OptionGroup var environment: EnvironmentOptions
    @Option(help: "Training steps.") var steps: Int = 20_000
    @Option(help: "Seed of the agent and of the training episodes.") var seed: UInt64 = 1
    @Option(help: "Run folder.") var out: String = "runs/dqn"
    @Option(help: "Evaluate on the validation seeds every this many steps.") var evalEvery: Int = 2_000
    @Option(
        help:
            "Evaluation episodes: periodic ones on validation seeds 3,000,000 + i, the final test on seeds 1,000,000 + i."
    ) var evalEpisodes: Int = 10
    @Option(help: "Episodes of the final test evaluation (seeds 1,000,000 + i), for every agent compared.")
    var testEpisodes: Int = 30
    @Flag(
        inversion: .prefixedNo,
        help:
            "Keep the policy with the best periodic validation return as policy.h5 (the last one is policy-final.h5); the test seeds are never used for the choice."
    ) var selectOnValidation = true
    @Option(help: "Checkpoint every this many steps.") var checkpointEvery: Int = 2_000
    @Option(help: "Episodes per setting of the built-in sweep that finds the best fixed setting (0 skips it).")
    var sweepEpisodes: Int = 3
    @Option(help: "The fixed agent's action (default: middle dose rate at the highest frame rate).") var fixedAction:
        Int?
    @Flag(
        help:
            "Continue the DQN run in --out from its checkpoint, with the arguments recorded in its config.json (flags that contradict them are refused)."
    ) var resume = false
    @OptionGroup var overwriting: OverwriteOption
    @Flag(
        help: """
            Bootstrap from the last state of truncated episodes. Off by default: the liquid cell's budgets are part of         the task and observed (elapsed time, cumulative dose), so a budget's end is terminal for learning         (Pardo et al., ICML 2018, "Time limits in reinforcement learning").
            """) var bootstrapTruncation = false
    @Flag(
        help:
            "Train an agent with privileged information: its observation also holds the environment's hidden state (the particle's sensitivity, contrast and range scale, and the latent state; key 'privileged'), to measure how much knowing it is worth."
    ) var privileged = false
    @OptionGroup var dqn: DQNOptions
    @OptionGroup var ppo: PPOOptions
    @OptionGroup var cem: CEMOptions

    func validate() throws {
        if steps < 1 { throw ValidationError("--steps must be positive") }
        if evalEvery < 1 || evalEpisodes < 1 || testEpisodes < 1 || checkpointEvery < 1 {
            throw ValidationError(
                "--eval-every, --eval-episodes, --test-episodes and --checkpoint-every must be positive")
        }
        if sweepEpisodes < 0 { throw ValidationError("--sweep-episodes must be ≥ 0") }
        try requireRange(steps, 1...100_000_000, "--steps")
        try requireRange(evalEvery, 1...100_000_000, "--eval-every")
        try requireRange(checkpointEvery, 1...100_000_000, "--checkpoint-every")
        try requireRange(testEpisodes, 1...100_000, "--test-episodes")
        try requireRange(evalEpisodes, 1...100_000, "--eval-episodes")
        try requireRange(sweepEpisodes, 0...10_000, "--sweep-episodes")
        if resume && overwriting.overwrite { throw ValidationError("--resume and --overwrite exclude each other") }
        if agent == .dqn { _ = try dqn.hyper(totalSteps: steps) }  // hyper-parameter ranges, before any file is made
        if agent == .cem { _ = try cem.hyper() }
        if agent == .ppo { _ = try ppo.hyper(totalSteps: steps) }
    }

    /// The files of a run folder (replaced together by --overwrite).
    static let runFiles = [
        "config.json", "progress.csv", "checkpoint.h5", "policy.h5", "policy-best.h5", "policy-final.h5",
        "summary.json",
        "learning_curve.svg"
    ]

    func run() throws {
        installInterruptHandler()
        let invocation = trainInvocationArguments ?? Array(CommandLine.arguments.dropFirst().drop { $0 == "train" })
        let configPath = (out as NSString).appendingPathComponent("config.json")
        if resume {
            // The run folder's config is the source of truth: rerun with its arguments, refusing contradicting flags.
            guard FileManager.default.fileExists(atPath: configPath) else {
                throw UserError("--resume: \(out) holds no run to continue (no config.json)")
            }
            let stored = try storedArguments(configPath)
            let resumed = try Train.parse(stored + ["--resume"])
            guard resumed.agent.resumable else {
                throw UserError(
                    "--resume: \(out) holds a \(resumed.agent.rawValue) run, which has no checkpoint; start it again with --overwrite"
                )
            }
            let conflicts = try conflictingFlags(invocation, stored: stored)
            guard conflicts.isEmpty else {
                throw UserError(
                    "--resume: \(conflicts.joined(separator: ", ")) contradict\(conflicts.count == 1 ? "s" : "") the run's config.json; drop \(conflicts.count == 1 ? "it" : "them") to continue the run as it was started"
                )
            }
            try resumed.execute(arguments: stored, cell: try resumed.checkedEnvironment())
        } else {
            // Every input first (environment, spec file, model, fixed action): an error names the real problem, and
            // the state of the run folder is looked at only once the inputs are known to be good.
            let cell = try checkedEnvironment()
            if FileManager.default.fileExists(atPath: configPath) {
                guard overwriting.overwrite else {
                    throw UserError("\(out) already holds a run: --resume continues it, --overwrite replaces it")
                }
            }
            try execute(arguments: invocation.filter { $0 != "--overwrite" }, cell: cell)
        }
    }

    /// The environment of --env/--env-file, with --fixed-action checked against its action space.
    func checkedEnvironment() throws -> LiquidCell {
        let cell = try environment.make(privileged: privileged)
        let fixed = fixedAction ?? defaultFixedAction(cell)
        guard cell.actionSpace.contains(fixed) else {
            throw UserError("--fixed-action \(fixed) is not in \(cell.actionSpace)")
        }
        return cell
    }

    /// Trains: the run itself on `cell` (from `checkedEnvironment`), with `arguments` recorded in config.json.
    func execute(arguments: [String], cell: LiquidCell) throws {
        let fixed = fixedAction ?? defaultFixedAction(cell)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let path = { (name: String) in (out as NSString).appendingPathComponent(name) }
        let lock = try OutputLock(path(".lock"), what: "run folder \(out)")
        defer { withExtendedLifetime(lock) {} }
        removeStaleTemporaries(in: out)
        if !resume {
            // A new run (--overwrite of an old one): nothing of the old run may be mistaken for this one's.
            for name in Train.runFiles where name != "config.json" { unlink(path(name)) }
        }
        let testSeeds = (0..<testEpisodes).map { UInt64(1_000_000 + $0) }
        let validationSeeds = (0..<evalEpisodes).map { UInt64(3_000_000 + $0) }
        let hyper = try dqn.hyper(totalSteps: steps)

        // config.json: everything needed to reproduce the run, and the arguments that --resume restores.
        let config = try configuration(arguments: arguments, cell: cell)
        try writeAtomically(
            path("config.json"),
            try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]))

        var schedule = TrainingSchedule(steps: steps, seed: seed)
        schedule.evaluateEvery = evalEvery
        schedule.validationSeeds = validationSeeds
        schedule.checkpointEvery = checkpointEvery
        schedule.selectOnValidation = selectOnValidation && agent.learns
        schedule.bootstrapTruncation = bootstrapTruncation
        let session: TrainingSession
        if resume, agent.resumable,
            let resumed = try TrainingSession.resume(folder: out, environment: cell, schedule: schedule)
        {
            session = resumed
            print("resuming from step \(session.startStep)")
        } else {
            if resume { print("no checkpoint yet in \(out): the run starts from step 0") }
            let learner: any Agent
            switch agent {
            case .dqn:
                learner = try DQNAgent(
                    observationSize: Evaluation.observationSize(for: cell), actionCount: cell.actionSpace.n,
                    hyper: hyper,
                    seed: seed)
            case .ppo:
                learner = try PPOAgent(
                    observationSize: Evaluation.observationSize(for: cell), actionCount: cell.actionSpace.n,
                    hyper: try ppo.hyper(totalSteps: steps), seed: seed)
            case .cem:
                learner = try CEMAgent(
                    observationSize: Evaluation.observationSize(for: cell), actionCount: cell.actionSpace.n,
                    hyper: try cem.hyper(),
                    seed: seed)
            default: learner = makeBaseline(agent, cell: cell, seed: seed, fixedAction: fixed)
            }
            session = try TrainingSession(agent: learner, environment: cell, schedule: schedule, folder: out)
        }
        let bar = ProgressBar(total: steps, label: agent.rawValue, alreadyDone: session.startStep)
        let start = Date()
        var lastLoss = Double.nan
        session.stopRequested = { interruptRequested }
        session.onStep = { session, metrics in
            if let l = metrics["loss"] { lastLoss = l }
            let rate = Double(session.step - session.startStep) / max(Date().timeIntervalSince(start), 1e-9)
            let mean = session.recentReturn
            bar.update(
                session.step,
                "ep \(session.episode) | return(20) \(mean.isNaN ? "–" : String(format: "%.2f", mean))"
                    + (agent == .dqn ? String(format: " | ε %.2f", metrics["epsilon"] ?? 0) : "")
                    + " | loss \(lastLoss.isNaN ? "–" : String(format: "%.4f", lastLoss)) | "
                    + String(format: "%.0f steps/s", rate))
        }
        let finished: Bool
        do { finished = try session.run() } catch TrainingError.diverged(let step, let loss, let checkpoint) {
            throw UserError(
                "training diverged at step \(step): the loss is \(loss) (lower "
                    + (agent == .ppo
                        ? "--ppo-learning-rate or --ppo-max-grad-norm" : "--learning-rate or --max-grad-norm")
                    + "); "
                    + (checkpoint.map { "the last good checkpoint is \($0)" } ?? "no checkpoint was written yet"))
        }
        bar.finish()
        if !finished {
            print(
                "interrupted at step \(session.step), at the end of an episode: checkpoint saved, continue with --resume"
            )
            throw ExitCode(130)
        }
        var learner = session.agent
        let step = session.step
        let curve = session.records.filter { $0.kind == .episode }.map { ($0.step, $0.episodeReturn) }
        let evalCurve = session.records.filter { $0.kind == .eval }.map {
            ($0.step, $0.validationMean, $0.validationCI95)
        }
        let learns = agent.learns
        // policy.h5: the best validated policy (when selecting), else the last one; policy-final.h5: the last one.
        var rows: [String: EvaluationResult] = [:]
        let selectedStep = session.selectedStep
        print("final test evaluation on \(testEpisodes) fixed seeds (never used during training)…")
        if selectOnValidation && learns, FileManager.default.fileExists(atPath: path("policy-best.h5")) {
            try learner.save(to: path("policy-final.h5"))
            rows[agent.rawValue + "_final"] = try evaluate(learner, cell: cell, seeds: testSeeds)
            learner = try loadPolicy(path("policy-best.h5"), cell: cell)
            if rename(path("policy-best.h5"), path("policy.h5")) != 0 {
                throw UserError("\(path("policy.h5")): cannot replace the file")
            }
        } else {
            try learner.save(to: path("policy.h5"))
        }
        rows[agent.rawValue] = try evaluate(learner, cell: cell, seeds: testSeeds)
        for kind in [AgentKind.random, .fixed, .heuristic] where kind != agent {
            rows[kind.rawValue] = try evaluate(
                makeBaseline(kind, cell: cell, seed: seed, fixedAction: fixed), cell: cell, seeds: testSeeds)
        }
        var bestFixed: (action: Int, result: SettingResult)? = nil
        if sweepEpisodes > 0 {
            for a in 0..<cell.actionSpace.n {
                let (d, f) = cell.setting(for: a)
                let r = try ExperimentDesign.evaluate(
                    cell, doseRate: d, frameRate: f, episodes: sweepEpisodes, seed: 2_000_000)
                if bestFixed == nil || r.episodeReturn.mean > bestFixed!.result.episodeReturn.mean {
                    bestFixed = (a, r)
                }
            }
            if let b = bestFixed {
                rows["best_fixed"] = try evaluate(FixedAgent(action: b.action), cell: cell, seeds: testSeeds)
            }
        }
        let spent = session.timeSpent
        let trainingSeconds = spent.values.reduce(0, +)
        var summary: [String: Any] = [
            "training_time_seconds": spent,
            "environment": cell.spec.id, "agent": agent.rawValue, "steps": step, "seed": seed,
            "test_seeds": testSeeds.map { Int($0) }, "validation_seeds": validationSeeds.map { Int($0) },
            "selected_step": selectedStep, "wall_seconds": Date().timeIntervalSince(start)
        ]
        for (k, v) in rows { summary[k] = try JSONSerialization.jsonObject(with: JSONEncoder().encode(v)) }
        // Paired on the same test seeds: the learner's return minus the best fixed setting's, episode by episode.
        var paired: [String: Estimate] = [:]
        if let b = rows["best_fixed"] {
            for k in [agent.rawValue, agent.rawValue + "_final"] where rows[k] != nil && k != "best_fixed" {
                paired[k] = Estimate(zip(rows[k]!.returns, b.returns).map { $0 - $1 })
            }
            summary["paired_minus_best_fixed"] = try JSONSerialization.jsonObject(with: JSONEncoder().encode(paired))
        }
        if let b = bestFixed {
            let (d, f) = cell.setting(for: b.action)
            summary["best_fixed_setting"] = ["action": b.action, "dose_rate": d, "frame_rate": f]
        }
        try writeAtomically(
            path("summary.json"),
            try JSONSerialization.data(withJSONObject: summary, options: [.prettyPrinted, .sortedKeys]))
        try writeAtomically(
            path("learning_curve.svg"),
            Data(
                learningCurveSVG(
                    curve: curve, eval: evalCurve,
                    baselines: rows.filter { !$0.key.hasPrefix(agent.rawValue) }.mapValues { $0.episodeReturn.mean },
                    title: "\(agent.rawValue) on \(cell.spec.id)"
                ).utf8))
        print("| agent | return (mean ± 95% CI) | signal | damage | length |")
        print("|---|---|---|---|---|")
        for k in rows.keys.sorted() {
            let r = rows[k]!
            print(
                String(
                    format: "| %@ | %.2f ± %.2f | %.1f | %.2f | %.1f |", k, r.episodeReturn.mean, r.episodeReturn.ci95,
                    r.signal.mean, r.damage.mean, r.length.mean))
        }
        if let b = bestFixed {
            let (d, f) = cell.setting(for: b.action)
            print(String(format: "best fixed setting (sweep): %g e⁻/Å²/s at %g frames/s", d, f))
        }
        for k in paired.keys.sorted() {
            let e = paired[k]!
            let (low, high) = (e.mean - e.ci95, e.mean + e.ci95)
            let verdict =
                !low.isFinite
                ? "too few test episodes for an interval"
                : low > 0
                    ? "the interval lies above zero: \(k) beats the best fixed setting"
                    : high < 0
                        ? "the interval lies below zero: the best fixed setting beats \(k)"
                        : "the interval includes zero: no evidence that \(k) beats the best fixed setting"
            print(
                String(
                    format:
                        "%@ − best fixed, paired over the %ld test seeds: %+.2f ± %.2f (95 %% interval [%+.2f, %+.2f]; %@)",
                    k, e.count, e.mean, e.ci95, low, high, verdict))
        }
        if let r = rows[agent.rawValue] { print(actionUsage(r.actionCounts, cell: cell)) }
        if trainingSeconds > 0 {
            let parts = [
                ("environment", "environment"), ("act", "acting"), ("learn", "learning (replay + updates)"),
                ("validation", "validation"), ("checkpoint", "checkpoints")
            ]
            print(
                String(format: "training time (this process, %.0f s): ", trainingSeconds)
                    + parts.compactMap { key, name in
                        spent[key].map { String(format: "%@ %.0f %%", name, 100 * $0 / trainingSeconds) }
                    }.joined(separator: ", "))
        }
        if selectedStep != step {
            print(
                "policy.h5 is the policy of step \(selectedStep) (best validation return); policy-final.h5 the last one"
            )
        }
        print("wrote \(out)/{config.json, progress.csv, checkpoint.h5, policy.h5, summary.json, learning_curve.svg}")
    }
}
