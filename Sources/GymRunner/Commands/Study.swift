import ArgumentParser
import Foundation
import LeonardoSim
import Agents
import MicroscopeGym

/// A training study: every agent × environment × seed as one `train` run, planned into a folder, run task by task
/// (locally, or as the tasks of a Slurm job array), and aggregated into summary tables.
struct Study: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Training studies (agent × environment × seed): plan, run (all or one task), aggregate.",
        discussion: """
            gym-runner study plan --dir D --agents dqn,cem --envs LiquidCell-v0,LiquidCell-v2 --seeds 1,2 -- --steps 5000
            gym-runner study run --dir D            (every task; or --task i, e.g. a Slurm array task)
            gym-runner study aggregate --dir D      (D/summary.csv and D/summary.md)
            'gym-runner slurm study' writes the same as a job array and a dependent aggregation job.
            """,
        subcommands: [StudyPlan.self, StudyRun.self, StudyAggregate.self, StudyScoreboard.self, Benchmark.self])
}

/// One training run of a study.
struct StudyTask: Codable, Equatable {
    var index: Int
    var agent: String
    var environment: String
    var seed: UInt64
    /// Run folder, relative to the study folder.
    var out: String
}

/// The plan of a study (`study.json`): its tasks and the training options they share.
struct StudyPlanFile: Codable, Equatable {
    var agents: [String]
    var environments: [String]
    var seeds: [UInt64]
    /// Options passed to every `train` run (after the task's --agent, --env, --seed, --out).
    var trainArguments: [String]
    var tasks: [StudyTask]

    static func path(_ dir: String) -> String { (dir as NSString).appendingPathComponent("study.json") }

    static func load(_ dir: String) throws -> StudyPlanFile {
        let p = path(dir)
        guard let data = FileManager.default.contents(atPath: p) else {
            throw UserError("\(p) not found: write it with 'gym-runner study plan --dir \(dir) …'")
        }
        do { return try JSONDecoder().decode(StudyPlanFile.self, from: data) } catch {
            throw UserError("\(p) is not a study plan: \(error)")
        }
    }

    /// The `train` arguments of task `t`, with the study folder `dir`.
    func arguments(_ t: StudyTask, dir: String) -> [String] {
        [
            "--agent", t.agent, "--env", t.environment, "--seed", String(t.seed), "--out",
            (dir as NSString).appendingPathComponent(t.out)
        ] + trainArguments
    }
}

/// What a study is: its lists and the options of every train run (shared by `study plan` and `slurm study`).
struct StudyOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp("Agents, comma-separated (\(AgentKind.allCases.map(\.rawValue).joined(separator: ", ")))."))
    var agents: String
    @Option(help: "Registered environment IDs, comma-separated.") var envs: String
    @Option(help: "Seeds: comma-separated, or FIRST:LAST.") var seeds: String
    @Flag(help: "Replace an existing study.json that differs.") var overwrite = false
    @Argument(parsing: .postTerminator, help: "Options of every train run, after '--' (e.g. -- --steps 5000).")
    var trainArguments: [String] = []

    /// Writes `dir`/study.json (see `makeStudyPlan`).
    func plan(dir: String) throws -> StudyPlanFile {
        try makeStudyPlan(
            dir: dir, agents: agents, envs: envs, seeds: seeds, trainArguments: trainArguments, overwrite: overwrite)
    }
}

struct StudyPlan: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan", abstract: "Write DIR/study.json: one task per agent × environment × seed.")
    @Option(help: "Study folder.") var dir: String
    @OptionGroup var study: StudyOptions

    func run() throws {
        let plan = try study.plan(dir: dir)
        print("wrote \(StudyPlanFile.path(dir)): \(plan.tasks.count) tasks")
    }
}

/// Parses and checks a study's lists, checks every task's `train` arguments, and writes `study.json` (refusing to
/// replace a different plan unless `overwrite`). Shared by `study plan` and `slurm study`.
func makeStudyPlan(dir: String, agents: String, envs: String, seeds: String, trainArguments: [String], overwrite: Bool)
    throws -> StudyPlanFile
{
    func list(_ s: String, _ flag: String) throws -> [String] {
        let items = s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !items.isEmpty else { throw UserError("\(flag): give at least one value") }
        guard Set(items).count == items.count else { throw UserError("\(flag): '\(s)' lists a value twice") }
        return items
    }
    let agentList = try list(agents, "--agents")
    for a in agentList where AgentKind(rawValue: a) == nil {
        throw UserError(
            "--agents: unknown agent '\(a)' (\(AgentKind.allCases.map(\.rawValue).joined(separator: ", ")))")
    }
    let envList = try list(envs, "--envs")
    let known = EnvironmentRegistry.ids()
    for e in envList where !known.contains(e) {
        throw UserError("--envs: unknown environment '\(e)' (registered: \(known.joined(separator: ", ")))")
    }
    var seedList: [UInt64]
    if seeds.contains(":") {
        let p = seeds.split(separator: ":").map { UInt64($0) }
        guard p.count == 2, let a = p[0], let b = p[1], a <= b, b - a < 10_000 else {
            throw UserError("--seeds: FIRST:LAST with FIRST ≤ LAST and at most 10,000 seeds, got '\(seeds)'")
        }
        seedList = Array(a...b)
    } else {
        seedList = try list(seeds, "--seeds").map { s in
            guard let v = UInt64(s) else { throw UserError("--seeds: '\(s)' is not a seed (0 … 2⁶⁴−1)") }
            return v
        }
    }
    for flag in ["--agent", "--env", "--env-file", "--seed", "--out", "--resume"] where trainArguments.contains(flag) {
        throw UserError("\(flag) is set by the study for each task; remove it from the train options after '--'")
    }
    var tasks: [StudyTask] = []
    for a in agentList {
        for e in envList {
            for s in seedList {
                tasks.append(
                    StudyTask(index: tasks.count, agent: a, environment: e, seed: s, out: "runs/\(a)-\(e)-seed\(s)"))
            }
        }
    }
    let plan = StudyPlanFile(
        agents: agentList, environments: envList, seeds: seedList, trainArguments: trainArguments, tasks: tasks)
    // Every task's options parse as a train command (bad options fail here, not in the middle of an array).
    for t in tasks {
        do { _ = try Train.parse(plan.arguments(t, dir: dir)) } catch {
            throw UserError("train options: \(Train.message(for: error))")
        }
    }
    let path = StudyPlanFile.path(dir)
    if let existing = try? StudyPlanFile.load(dir), existing != plan, !overwrite {
        throw UserError("\(path) already holds another study: choose another --dir or pass --overwrite")
    }
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try writeAtomically(path, try encoder.encode(plan))
    return plan
}

struct StudyRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the study's tasks (all, or --task i), skipping those whose summary.json is complete.",
        discussion: """
            A task is complete when its summary.json parses and names the task's agent, environment, seed and step \
            count. An interrupted DQN task resumes from its checkpoint.h5; other agents start again (their runs are \
            short and deterministic).
            """)
    @Option(help: "Study folder (with study.json).") var dir: String
    @Option(help: "Run only this task (e.g. $SLURM_ARRAY_TASK_ID).") var task: Int?

    func run() throws {
        let plan = try StudyPlanFile.load(dir)
        let chosen: [StudyTask]
        if let task {
            guard task >= 0 && task < plan.tasks.count else {
                throw UserError("--task \(task) is outside 0 ..< \(plan.tasks.count)")
            }
            chosen = [plan.tasks[task]]
        } else {
            chosen = plan.tasks
        }
        try runStudyTasks(chosen, of: plan, dir: dir)
    }
}

/// Runs `tasks` of `plan` one after another, skipping complete ones and resuming interrupted resumable ones.
func runStudyTasks(_ tasks: [StudyTask], of plan: StudyPlanFile, dir: String) throws {
    for t in tasks {
        let args = plan.arguments(t, dir: dir)
        let train = try Train.parse(args)
        let folder = (dir as NSString).appendingPathComponent(t.out)
        if studyTaskIsComplete(t, folder: folder, steps: train.steps, testEpisodes: train.testEpisodes) {
            print("task \(t.index) (\(t.agent), \(t.environment), seed \(t.seed)): complete, skipped")
            continue
        }
        let checkpoint = (folder as NSString).appendingPathComponent("checkpoint.h5")
        let resume =
            (AgentKind(rawValue: t.agent)?.resumable ?? false) && FileManager.default.fileExists(atPath: checkpoint)
        print("task \(t.index) (\(t.agent), \(t.environment), seed \(t.seed))\(resume ? ": resuming" : "")")
        let command = try Train.parse(args + (resume ? ["--resume"] : ["--overwrite"]))
        try command.run(invocation: args + (resume ? ["--resume"] : []))
    }
}

/// Whether a task's run folder holds a finished run of exactly this task.
func studyTaskIsComplete(_ t: StudyTask, folder: String, steps: Int, testEpisodes: Int) -> Bool {
    completeStudySummary(t, folder: folder, steps: steps, testEpisodes: testEpisodes) != nil
}

/// A task's summary.json, when it holds a finished run of exactly this task (else nil).
func completeStudySummary(_ t: StudyTask, folder: String, steps: Int, testEpisodes: Int) -> RunSummary? {
    guard let summary = try? RunSummary.load((folder as NSString).appendingPathComponent("summary.json")) else {
        return nil
    }
    let matches =
        summary.agent == t.agent && summary.environment == t.environment && summary.seed == t.seed
        && summary.steps == steps && summary.testSeeds.count == testEpisodes && summary.results[t.agent] != nil
    return matches ? summary : nil
}

/// A complete task of a study and its summary.json.
struct CompletedTask {
    let task: StudyTask
    let summary: RunSummary
}

/// Every task of `plan` with its summary; refuses a study with incomplete tasks, naming them.
func completedStudyRows(_ plan: StudyPlanFile, dir: String) throws -> [CompletedTask] {
    var missing: [String] = []
    var rows: [CompletedTask] = []
    for t in plan.tasks {
        let folder = (dir as NSString).appendingPathComponent(t.out)
        let train = try Train.parse(plan.arguments(t, dir: dir))
        guard let s = completeStudySummary(t, folder: folder, steps: train.steps, testEpisodes: train.testEpisodes)
        else {
            missing.append("\(t.index) (\(t.out))")
            continue
        }
        rows.append(CompletedTask(task: t, summary: s))
    }
    guard missing.isEmpty else {
        throw UserError(
            "\(missing.count) of \(plan.tasks.count) tasks are not complete: \(missing.joined(separator: ", ")); run them ('gym-runner study run --dir \(dir)' or re-submit the array)"
        )
    }
    return rows
}

struct StudyAggregate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aggregate",
        abstract: "Join the tasks' summaries into DIR/summary.csv (one row per task) and DIR/summary.md.",
        discussion: """
            Per task: the agent's mean test return, the best fixed setting's on the same test seeds, and their paired \
            difference. Per agent and environment: the mean over seeds of the per-seed figures with a 95 % interval \
            across seeds. Refuses a study with incomplete tasks (naming them).
            """)
    @Option(help: "Study folder (with study.json).") var dir: String

    func run() throws {
        let plan = try StudyPlanFile.load(dir)
        try writeStudySummary(plan, completedStudyRows(plan, dir: dir), dir: dir)
    }
}

/// Writes DIR/summary.csv and DIR/summary.md (see `study aggregate`) from a study's complete tasks, and prints the table.
func writeStudySummary(_ plan: StudyPlanFile, _ completed: [CompletedTask], dir: String) throws {
    func number(_ x: Double) -> String { x.isFinite ? String(format: "%.6f", x) : "" }
    var csv = "task,agent,environment,seed,test_return,best_fixed_return,paired_minus_best_fixed\n"
    for r in completed {
        let s = r.summary
        csv += "\(r.task.index),\(r.task.agent),\(r.task.environment),\(r.task.seed),\(number(s.testReturn(s.agent))),"
        csv += "\(number(s.testReturn("best_fixed"))),\(number(s.agentMinusBestFixed))\n"
    }
    var md = "| agent | environment | seeds | test return | best fixed | agent − best fixed (paired) |\n"
    md += "|---|---|---:|---:|---:|---:|\n"
    func cell(_ e: Estimate?) -> String {
        guard let e else { return "—" }
        return e.count > 1 ? String(format: "%.2f ± %.2f", e.mean, e.ci95) : String(format: "%.2f", e.mean)
    }
    let table = StudyTable(runs: completed.map(\.summary), agents: plan.agents, environments: plan.environments)
    for row in table.rows {
        md += "| \(row.agent) | \(row.environment) | \(row.seeds) | \(cell(row.testReturn)) | \(cell(row.bestFixed)) | "
        md += "\(cell(row.agentMinusBestFixed)) |\n"
    }
    md += "\nMean over seeds ± 95 % interval across seeds; each seed's figures are means over its test episodes.\n"
    try writeAtomically((dir as NSString).appendingPathComponent("summary.csv"), Data(csv.utf8))
    try writeAtomically((dir as NSString).appendingPathComponent("summary.md"), Data(md.utf8))
    print(md, terminator: "")
    print("wrote \(dir)/summary.csv and \(dir)/summary.md")
}
