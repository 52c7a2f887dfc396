import Agents
import Foundation
import LeonardoSim
import MicroscopeGym

/// One run on a scoreboard: a complete study task under its row label (the agent, and what its study's options make of
/// it, e.g. "dqn (privileged)").
struct ScoreboardRun {
    let label: String
    let completed: CompletedTask
    var task: StudyTask { completed.task }
    var summary: RunSummary { completed.summary }
}

/// The row label of `agent` in a study with train options `trainArguments`: options that change what the agent
/// sees or does (`--belief`, `--ppo-continuous`, `--privileged`) are named, so two studies of one agent stay apart
/// on a joint scoreboard.
func scoreboardLabel(agent: String, trainArguments: [String]) -> String {
    let marks = [("--belief", "belief"), ("--ppo-continuous", "continuous"), ("--privileged", "privileged")]
        .filter { trainArguments.contains($0.0) }.map(\.1)
    return marks.isEmpty ? agent : "\(agent) (\(marks.joined(separator: ", ")))"
}

/// The scoreboard of a complete study (`rows`: its tasks, from `completedStudyRows`). See `writeScoreboard(_:…)`.
@discardableResult
func writeScoreboard(_ plan: StudyPlanFile, _ rows: [CompletedTask], dir: String) throws -> String {
    let label = { (a: String) in scoreboardLabel(agent: a, trainArguments: plan.trainArguments) }
    return try writeScoreboard(
        rows.map { ScoreboardRun(label: label($0.task.agent), completed: $0) }, labels: plan.agents.map(label),
        environments: plan.environments, sources: [], dir: dir)
}

/// Per row label and scenario the normalised score of every seed, per label the interquartile mean over all its
/// runs with a stratified bootstrap 95 % interval (strata: scenarios). `sources` (one line each, e.g. a study's
/// folder, scenarios and train options) are listed under the table. Writes DIR/scoreboard.{csv,md,svg} and returns
/// the Markdown table.
@discardableResult
func writeScoreboard(
    _ rows: [ScoreboardRun], labels: [String], environments: [String], sources: [String], dir: String
) throws -> String {
    for r in rows where !r.summary.testReturn("best_fixed").isFinite {
        throw UserError(
            "\(r.task.out) has no best fixed setting to normalise by: the scoreboard needs the built-in sweep "
                + "(--sweep-episodes ≥ 1 in the train options)")
    }
    func score(_ r: ScoreboardRun) -> Double {
        Scoreboard.normalizedScore(
            agent: r.summary.testReturn(r.task.agent), random: r.summary.testReturn("random"),
            bestFixed: r.summary.testReturn("best_fixed"))
    }
    var csv = "agent,environment,seed,test_return,random_return,best_fixed_return,normalized_score\n"
    for r in rows {
        csv +=
            "\(r.label.contains(",") ? "\"\(r.label)\"" : r.label),\(r.task.environment),\(r.task.seed),\(r.summary.testReturn(r.task.agent)),"
            + "\(r.summary.testReturn("random")),\(r.summary.testReturn("best_fixed")),\(score(r))\n"
    }
    func mean(_ xs: [Double]) -> Double { xs.isEmpty ? .nan : xs.reduce(0, +) / Double(xs.count) }
    var md =
        "| scenario | random: return | best fixed: return | "
        + labels.map { "\($0): score (per seed)" }.joined(separator: " | ") + " |\n"
    md += "|---|---:|---:|" + String(repeating: "---:|", count: labels.count) + "\n"
    var perAgent: [String: [[Double]]] = [:]
    for e in environments {
        let here = rows.filter { $0.task.environment == e }
        var line = String(
            format: "| %@ | %.2f | %.2f |", e, mean(here.map { $0.summary.testReturn("random") }),
            mean(here.map { $0.summary.testReturn("best_fixed") }))
        for a in labels {
            let scores = here.filter { $0.label == a }.map(score)
            guard !scores.isEmpty else {
                line += " – |"
                continue
            }
            perAgent[a, default: []].append(scores)
            line += String(
                format: " %.2f (%@) |", mean(scores), scores.map { String(format: "%.2f", $0) }.joined(separator: ", "))
        }
        md += line + "\n"
    }
    var summary = "| **IQM over scenarios × seeds [95 % CI]** | 0 | 1 |"
    var series: [LinePlot.Series] = []
    let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"]
    for (k, a) in labels.enumerated() {
        let runs = perAgent[a] ?? []
        let iqm = Scoreboard.interquartileMean(runs.flatMap { $0 })
        let ci = Scoreboard.bootstrapInterval(runs, seed: 1)
        summary += String(format: " **%.2f** [%.2f, %.2f] |", iqm, ci.low, ci.high)
        let offset = 0.12 * (Double(k) - Double(labels.count - 1) / 2)
        series.append(
            LinePlot.Series(
                label: String(format: "%@: IQM %.2f [%.2f, %.2f]", a, iqm, ci.low, ci.high),
                color: colors[k % colors.count],
                points: environments.enumerated().flatMap { i, e in
                    rows.filter { $0.label == a && $0.task.environment == e }.map {
                        (Double(i + 1) + offset, score($0))
                    }
                },
                markers: true, lineless: true))
    }
    md += summary + "\n"
    md += """

        Normalised score per run: (agent − random)/(best fixed − random), all three on the run's test seeds (0 = random, \
        1 = the best fixed setting of the run's sweep); per scenario the mean over seeds and each seed's score. IQM: \
        the mean of the middle half of all runs; interval: stratified bootstrap over seeds within scenarios (2,000 \
        replicates, percentile). Agarwal et al., NeurIPS 2021.

        """
    if !sources.isEmpty {
        md += "\nRuns:\n" + sources.map { "- \($0)\n" }.joined() + "\n"
    }
    let n = Double(environments.count)
    var seedCounts = Set<Int>()
    for a in labels {
        for e in environments {
            let k = rows.filter { $0.label == a && $0.task.environment == e }.count
            if k > 0 { seedCounts.insert(k) }
        }
    }
    let seedsPerCell = seedCounts.sorted().map(String.init).joined(separator: " or ")
    series.append(
        LinePlot.Series(
            label: "best fixed = 1, random = 0", color: "#7f7f7f", points: [(0.6, 1), (n + 0.4, 1)], dashed: true))
    series.append(LinePlot.Series(label: "", color: "#7f7f7f", points: [(0.6, 0), (n + 0.4, 0)], dashed: true))
    let plot = LinePlot(
        title: "Scoreboard: normalised test score per run (\(seedsPerCell) seeds per scenario)",
        xLabel: "scenario", yLabel: "(agent − random)/(best fixed − random)", xTickLabels: false, legendBelow: true,
        xCategories: environments, series: series)
    try writeAtomically((dir as NSString).appendingPathComponent("scoreboard.csv"), Data(csv.utf8))
    try writeAtomically((dir as NSString).appendingPathComponent("scoreboard.md"), Data(md.utf8))
    try writeAtomically((dir as NSString).appendingPathComponent("scoreboard.svg"), Data(plot.svg().utf8))
    return md
}
