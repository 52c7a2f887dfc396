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
    @Option(
        help:
            "Seeds of the final evaluation: test (1,000,000 + i), or tuning (4,000,000 + i) to choose hyper-parameters without looking at the test seeds."
    ) var evaluateOn: FinalEvaluationSeeds = .test
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
    @Flag(
        help:
            "Add belief features to the agent's observation (key 'belief'): the encoder's posterior of the latent and of the dose coordinate for each segment, its lost frames filled by fractional Brownian motion through localisation noise, and the fill's noise, step scale and uncertainty (docs/between-frames.md)."
    ) var belief = false
    @OptionGroup var dqn: DQNOptions
    @OptionGroup var rdqn: RecurrentDQNOptions
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
        if agent == .rdqn { _ = try rdqn.hyper(totalSteps: steps) }
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
        try run(invocation: Array(CommandLine.arguments.dropFirst().drop { $0 == "train" }))
    }

    /// Runs with `invocation` as the command line that asked for it (recorded in config.json; `study run` passes
    /// its task's arguments).
    func run(invocation: [String]) throws {
        installInterruptHandler()
        let configPath = (out as NSString).appendingPathComponent("config.json")
        if resume {
            // The run folder's config is the source of truth: the stored run with this invocation's flags on top is
            // parsed once, and its configuration must equal the stored one.
            guard FileManager.default.fileExists(atPath: configPath) else {
                throw UserError("--resume: \(out) holds no run to continue (no config.json)")
            }
            let stored = try RunConfiguration.load(configPath)
            guard stored.agent.resumable else {
                throw UserError(
                    "--resume: \(out) holds a \(stored.agent.rawValue) run, which has no checkpoint; start it again with --overwrite"
                )
            }
            guard !stored.arguments.isEmpty else {
                throw UserError(
                    "\(configPath) does not record its arguments (a run of an older version): start it again")
            }
            let asked = try Train.parse(stored.arguments + invocation.filter { $0 != "--resume" } + ["--resume"])
            let cell = try asked.checkedEnvironment()
            var configuration = try asked.configuration(arguments: stored.arguments, cell: cell)
            configuration.seedPlan = stored.seedPlan  // no flag sets it: a run keeps the plan it started with
            var changes = try stored.differences(to: configuration)
            if stored.agent != configuration.agent {
                changes = ["agent: \(stored.agent.rawValue) → \(configuration.agent.rawValue)"]
            }
            guard changes.isEmpty else {
                throw UserError(
                    "--resume: this invocation changes the run's config.json (\(changes.joined(separator: "; "))); drop the flags that change it to continue the run as it was started"
                )
            }
            try asked.execute(configuration, cell: cell)
        } else {
            // Every input first (environment, spec file, model, fixed action): an error names the real problem, and
            // the state of the run folder is looked at only once the inputs are known to be good.
            let cell = try checkedEnvironment()
            if FileManager.default.fileExists(atPath: configPath) {
                guard overwriting.overwrite else {
                    throw UserError("\(out) already holds a run: --resume continues it, --overwrite replaces it")
                }
            }
            try execute(
                try configuration(arguments: invocation.filter { $0 != "--overwrite" }, cell: cell), cell: cell)
        }
    }

    /// The environment of --env/--env-file, with --fixed-action checked against its action space.
    func checkedEnvironment() throws -> LiquidCell {
        let cell = try environment.make(privileged: privileged, belief: belief)
        let fixed = fixedAction ?? AgentKind.defaultFixedAction(cell)
        guard cell.actionSpace.contains(fixed) else {
            throw UserError("--fixed-action \(fixed) is not in \(cell.actionSpace)")
        }
        return cell
    }

    /// The run these flags ask for on `cell` (from `checkedEnvironment`), `arguments` recorded with it.
    func configuration(arguments: [String], cell: LiquidCell) throws -> RunConfiguration {
        var c = RunConfiguration(agent: agent, environment: cell, steps: steps, seed: seed)
        c.envFile = environment.envFile
        c.evalEvery = evalEvery
        c.evalEpisodes = evalEpisodes
        c.testEpisodes = testEpisodes
        c.checkpointEvery = checkpointEvery
        c.sweepEpisodes = sweepEpisodes
        c.fixedAction = fixedAction ?? AgentKind.defaultFixedAction(cell)
        c.selectOnValidation = selectOnValidation
        c.bootstrapTruncation = bootstrapTruncation
        c.evaluateOnTuningSeeds = evaluateOn == .tuning
        c.dqn = agent == .dqn ? try dqn.hyper(totalSteps: steps) : nil
        c.rdqn = agent == .rdqn ? try rdqn.hyper(totalSteps: steps) : nil
        c.ppo = agent == .ppo ? try ppo.hyper(totalSteps: steps) : nil
        c.cem = agent == .cem ? try cem.hyper() : nil
        c.arguments = arguments
        return c
    }

    /// Trains: the run of `configuration` on `cell` (from `checkedEnvironment`) in --out, then its final evaluation.
    func execute(_ configuration: RunConfiguration, cell: LiquidCell) throws {
        let agent = configuration.agent
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let path = { (name: String) in (out as NSString).appendingPathComponent(name) }
        let lock = try OutputLock(path(".lock"), what: "run folder \(out)")
        defer { withExtendedLifetime(lock) {} }
        removeStaleTemporaries(in: out)
        if !resume {
            // A new run (--overwrite of an old one): nothing of the old run may be mistaken for this one's.
            for name in Train.runFiles where name != "config.json" { unlink(path(name)) }
        }
        // config.json: everything needed to reproduce the run; --resume compares against it.
        try writeAtomically(path("config.json"), try configuration.json())

        let schedule = configuration.schedule
        let session: LiquidCellTrainingSession
        if resume, agent.resumable,
            let resumed = try LiquidCellTrainingSession.resume(folder: out, environment: cell, schedule: schedule)
        {
            session = resumed
            print("resuming from step \(session.startStep)")
        } else {
            if resume { print("no checkpoint yet in \(out): the run starts from step 0") }
            let learner = try configuration.makeAgent(for: cell)
            session = try LiquidCellTrainingSession(agent: learner, environment: cell, schedule: schedule, folder: out)
        }
        let bar = ProgressBar(total: configuration.steps, label: agent.rawValue, alreadyDone: session.startStep)
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
                    + (agent == .dqn || agent == .rdqn ? String(format: " | ε %.2f", metrics["epsilon"] ?? 0) : "")
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
        let curve = session.records.filter { $0.kind == .episode }.map { ($0.step, $0.episodeReturn) }
        let evalCurve = session.records.filter { $0.kind == .eval }.map {
            ($0.step, $0.validationMean, $0.validationCI95)
        }
        // policy.h5: the best validated policy (when selecting), else the last one; policy-final.h5: the last one.
        print(
            configuration.evaluateOnTuningSeeds
                ? "final evaluation on \(configuration.testEpisodes) tuning seeds (4,000,000 + i; not the test seeds)…"
                : "final test evaluation on \(configuration.testEpisodes) fixed seeds (never used during training)…")
        var finalPolicy: (any Agent)? = nil
        if schedule.selectOnValidation, FileManager.default.fileExists(atPath: path("policy-best.h5")) {
            try learner.save(to: path("policy-final.h5"))
            finalPolicy = learner
            learner = try PolicyFile.load(path("policy-best.h5"), environment: cell)
            if rename(path("policy-best.h5"), path("policy.h5")) != 0 {
                throw UserError("\(path("policy.h5")): cannot replace the file")
            }
        } else {
            try learner.save(to: path("policy.h5"))
        }
        var summary = try RunSummary.evaluate(
            policy: learner, finalPolicy: finalPolicy, configuration: configuration, environment: cell)
        summary.steps = session.step
        summary.selectedStep = session.selectedStep
        summary.trainingTimeSeconds = session.timeSpent
        summary.wallSeconds = Date().timeIntervalSince(start)
        try writeAtomically(path("summary.json"), try summary.json())
        let rows = summary.results
        try writeAtomically(
            path("learning_curve.svg"),
            Data(
                learningCurveSVG(
                    curve: curve, eval: evalCurve,
                    baselines: rows.filter { !$0.key.hasPrefix(agent.rawValue) }.mapValues { $0.episodeReturn.mean },
                    title: "\(agent.rawValue) on \(cell.spec.id)"
                ).utf8))
        printSummary(summary, cell: cell)
        print("wrote \(out)/{config.json, progress.csv, checkpoint.h5, policy.h5, summary.json, learning_curve.svg}")
    }

    /// The summary as tables and sentences: every row, the best fixed setting, the paired verdicts, the settings the
    /// agent used and where the training time went.
    func printSummary(_ summary: RunSummary, cell: LiquidCell) {
        let rows = summary.results
        print("| agent | return (mean ± 95% CI) | signal | damage | length |")
        print("|---|---|---|---|---|")
        for k in rows.keys.sorted() {
            let r = rows[k]!
            print(
                String(
                    format: "| %@ | %.2f ± %.2f | %.1f | %.2f | %.1f |", k, r.episodeReturn.mean, r.episodeReturn.ci95,
                    r.signal.mean, r.damage.mean, r.length.mean))
        }
        if let b = summary.bestFixedSetting {
            print(String(format: "best fixed setting (sweep): %g e⁻/Å²/s at %g frames/s", b.doseRate, b.frameRate))
        }
        let paired = summary.pairedMinusBestFixed ?? [:]
        for k in paired.keys.sorted() {
            let e = paired[k]!
            let (low, high) = e.interval95
            let verdict =
                switch PairedVerdict(e) {
                case .tooFew: "too few test episodes for an interval"
                case .above: "the interval lies above zero: \(k) beats the best fixed setting"
                case .below: "the interval lies below zero: the best fixed setting beats \(k)"
                case .includesZero: "the interval includes zero: no evidence that \(k) beats the best fixed setting"
                }
            print(
                String(
                    format:
                        "%@ − best fixed, paired over the %ld test seeds: %+.2f ± %.2f (95 %% interval [%+.2f, %+.2f]; %@)",
                    k, e.count, e.mean, e.ci95, low, high, verdict))
        }
        if let r = rows[summary.agent] { print(actionUsage(r.actionCounts, cell: cell)) }
        let spent = summary.trainingTimeSeconds
        let trainingSeconds = spent.values.reduce(0, +)
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
        if summary.selectedStep != summary.steps {
            print(
                "policy.h5 is the policy of step \(summary.selectedStep) (best validation return); policy-final.h5 the last one"
            )
        }
    }
}

/// Where `train`'s final evaluation runs (`--evaluate-on`).
enum FinalEvaluationSeeds: String, ExpressibleByArgument, CaseIterable {
    case test, tuning
}
