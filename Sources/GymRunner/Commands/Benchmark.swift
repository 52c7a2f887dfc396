import ArgumentParser
import Foundation
import LeonardoSim
import MicroscopeGym

/// The benchmark: trains and tests agents on every scenario with several seeds (a study), then scores them against
/// each scenario's random agent and best fixed setting.
struct Benchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Train and test agents on every scenario and seed, then write the scoreboard (normalised scores, IQM).",
        discussion: """
            gym-runner study benchmark --dir runs/bench --agents dqn,ppo --seeds 1:3 -- --steps 20000
            plans DIR/study.json (every registered scenario unless --envs), runs the tasks that are not complete \
            (interrupted DQN and PPO tasks resume), and writes DIR/scoreboard.{md,csv,svg} and DIR/summary.{md,csv}. \
            On a cluster: 'gym-runner slurm study' with the same lists, then 'gym-runner study scoreboard --dir DIR'.
            """)
    @Option(help: "Benchmark folder.") var dir: String
    @Option(help: "Agents, comma-separated.") var agents: String = "dqn"
    @Option(help: "Registered environment IDs, comma-separated (default: every registered scenario).") var envs: String?
    @Option(help: "Seeds: comma-separated, or FIRST:LAST.") var seeds: String = "1:3"
    @Flag(help: "Replace an existing study.json that differs.") var overwrite = false
    @Argument(parsing: .postTerminator, help: "Options of every train run, after '--' (e.g. -- --steps 5000).")
    var trainArguments: [String] = []

    func run() throws {
        if let train = try? Train.parse(trainArguments), train.sweepEpisodes == 0 {
            throw UserError(
                "the scoreboard normalises by each scenario's best fixed setting: keep --sweep-episodes ≥ 1")
        }
        let plan = try makeStudyPlan(
            dir: dir, agents: agents, envs: envs ?? EnvironmentRegistry.ids().joined(separator: ","), seeds: seeds,
            trainArguments: trainArguments, overwrite: overwrite)
        print(
            "benchmark: \(plan.tasks.count) runs (\(plan.agents.joined(separator: ", ")) × \(plan.environments.count) scenarios × \(plan.seeds.count) seeds)"
        )
        try runStudyTasks(plan.tasks, of: plan, dir: dir)
        let rows = try completedStudyRows(plan, dir: dir)
        try writeStudySummary(plan, rows, dir: dir)
        print(try writeScoreboard(plan, rows, dir: dir), terminator: "")
        print("wrote \(dir)/scoreboard.{md,csv,svg}")
    }
}

/// `study scoreboard`: the benchmark's scoreboard for a study run elsewhere (e.g. a Slurm array), or one joint
/// scoreboard of several studies (`--from`, e.g. scenarios that need different step budgets).
struct StudyScoreboard: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scoreboard",
        abstract: "Write DIR/scoreboard.{md,csv,svg}: normalised scores per run, IQM with bootstrap intervals.",
        discussion: """
            With --from A --from B …, one scoreboard of the complete studies A, B, … is written to DIR: each agent \
            of each study is a row, named after the agent and the options that change what it sees (e.g. \
            'dqn (privileged)'); the table lists every study's scenarios and train options (the step budget) under \
            it. Every task of every study must be complete.
            """)
    @Option(help: "Study folder (with study.json), or with --from the folder the joint scoreboard is written to.")
    var dir: String
    @Option(name: .customLong("from"), help: "A study folder to include in a joint scoreboard (repeat the option).")
    var studies: [String] = []

    func run() throws {
        guard !studies.isEmpty else {
            let plan = try StudyPlanFile.load(dir)
            print(try writeScoreboard(plan, completedStudyRows(plan, dir: dir), dir: dir), terminator: "")
            print("wrote \(dir)/scoreboard.{md,csv,svg}")
            return
        }
        var runs: [ScoreboardRun] = []
        var labels: [String] = []
        var environments: [String] = []
        var sources: [String] = []
        for study in studies {
            let plan = try StudyPlanFile.load(study)
            for r in try completedStudyRows(plan, dir: study) {
                let label = scoreboardLabel(agent: r.task.agent, trainArguments: plan.trainArguments)
                guard
                    !runs.contains(where: {
                        $0.label == label && $0.task.environment == r.task.environment && $0.task.seed == r.task.seed
                    })
                else {
                    throw UserError(
                        "--from \(study): \(label) on \(r.task.environment) with seed \(r.task.seed) is in an earlier study too; give each run once"
                    )
                }
                runs.append(ScoreboardRun(label: label, completed: r))
                if !labels.contains(label) { labels.append(label) }
                if !environments.contains(r.task.environment) { environments.append(r.task.environment) }
            }
            sources.append(
                "`\((study as NSString).lastPathComponent)`: \(plan.agents.joined(separator: ", ")) on "
                    + "\(plan.environments.joined(separator: ", ")), seeds \(plan.seeds.map(String.init).joined(separator: ", ")); "
                    + "`\(plan.trainArguments.joined(separator: " "))`")
        }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        print(
            try writeScoreboard(runs, labels: labels, environments: environments, sources: sources, dir: dir),
            terminator: "")
        print("wrote \(dir)/scoreboard.{md,csv,svg}")
    }
}
