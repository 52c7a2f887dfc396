import Foundation
import LeonardoSim
import MicroscopeGym

/// The scoreboard of a complete study (`rows`: its tasks, from `completedStudyRows`): per agent and scenario the normalised score of every seed, per agent the
/// interquartile mean over all runs with a stratified bootstrap 95 % interval. Writes DIR/scoreboard.{csv,md,svg}
/// and returns the Markdown table.
@discardableResult
func writeScoreboard(_ plan: StudyPlanFile, _ rows: [CompletedTask], dir: String) throws -> String {
    for r in rows where !r.summary.testReturn("best_fixed").isFinite {
        throw UserError(
            "\(r.task.out) has no best fixed setting to normalise by: the scoreboard needs the built-in sweep "
                + "(--sweep-episodes ≥ 1 in the train options)")
    }
    func score(_ r: CompletedTask) -> Double {
        Scoreboard.normalizedScore(
            agent: r.summary.testReturn(r.task.agent), random: r.summary.testReturn("random"),
            bestFixed: r.summary.testReturn("best_fixed"))
    }
    var csv = "agent,environment,seed,test_return,random_return,best_fixed_return,normalized_score\n"
    for r in rows {
        csv +=
            "\(r.task.agent),\(r.task.environment),\(r.task.seed),\(r.summary.testReturn(r.task.agent)),"
            + "\(r.summary.testReturn("random")),\(r.summary.testReturn("best_fixed")),\(score(r))\n"
    }
    func mean(_ xs: [Double]) -> Double { xs.isEmpty ? .nan : xs.reduce(0, +) / Double(xs.count) }
    var md =
        "| scenario | random: return | best fixed: return | "
        + plan.agents.map { "\($0): score (per seed)" }.joined(separator: " | ") + " |\n"
    md += "|---|---:|---:|" + String(repeating: "---:|", count: plan.agents.count) + "\n"
    var perAgent: [String: [[Double]]] = [:]
    for e in plan.environments {
        let here = rows.filter { $0.task.environment == e }
        var line = String(
            format: "| %@ | %.2f | %.2f |", e, mean(here.map { $0.summary.testReturn("random") }),
            mean(here.map { $0.summary.testReturn("best_fixed") }))
        for a in plan.agents {
            let scores = here.filter { $0.task.agent == a }.map(score)
            perAgent[a, default: []].append(scores)
            line += String(
                format: " %.2f (%@) |", mean(scores), scores.map { String(format: "%.2f", $0) }.joined(separator: ", "))
        }
        md += line + "\n"
    }
    var summary = "| **IQM over scenarios × seeds [95 % CI]** | 0 | 1 |"
    var series: [LinePlot.Series] = []
    let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"]
    for (k, a) in plan.agents.enumerated() {
        let runs = perAgent[a] ?? []
        let iqm = Scoreboard.interquartileMean(runs.flatMap { $0 })
        let ci = Scoreboard.bootstrapInterval(runs, seed: 1)
        summary += String(format: " **%.2f** [%.2f, %.2f] |", iqm, ci.low, ci.high)
        let offset = 0.12 * (Double(k) - Double(plan.agents.count - 1) / 2)
        series.append(
            LinePlot.Series(
                label: String(format: "%@: IQM %.2f [%.2f, %.2f]", a, iqm, ci.low, ci.high),
                color: colors[k % colors.count],
                points: runs.enumerated().flatMap { i, scores in scores.map { (Double(i + 1) + offset, $0) } },
                markers: true, lineless: true))
    }
    md += summary + "\n"
    md += """

        Normalised score per run: (agent − random)/(best fixed − random), all three on the run's test seeds (0 = random, \
        1 = the best fixed setting of the run's sweep); per scenario the mean over seeds and each seed's score. IQM: \
        the mean of the middle half of all runs; interval: stratified bootstrap over seeds within scenarios (2,000 \
        replicates, percentile). Agarwal et al., NeurIPS 2021.

        """
    let n = Double(plan.environments.count)
    series.append(
        LinePlot.Series(
            label: "best fixed = 1, random = 0", color: "#7f7f7f", points: [(0.6, 1), (n + 0.4, 1)], dashed: true))
    series.append(LinePlot.Series(label: "", color: "#7f7f7f", points: [(0.6, 0), (n + 0.4, 0)], dashed: true))
    let plot = LinePlot(
        title: "Scoreboard: normalised test score per run (\(plan.seeds.count) seeds per scenario)",
        xLabel: "scenario", yLabel: "(agent − random)/(best fixed − random)", xTickLabels: false, legendBelow: true,
        xCategories: plan.environments, series: series)
    try writeAtomically((dir as NSString).appendingPathComponent("scoreboard.csv"), Data(csv.utf8))
    try writeAtomically((dir as NSString).appendingPathComponent("scoreboard.md"), Data(md.utf8))
    try writeAtomically((dir as NSString).appendingPathComponent("scoreboard.svg"), Data(plot.svg().utf8))
    return md
}
