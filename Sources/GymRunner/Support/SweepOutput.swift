import ArgumentParser
import Foundation
import LeonardoSim
import MicroscopeGym

/// Writes a sweep table and its CSV and SVG next to it.
func writeSweep(_ table: SweepTable, to out: String) throws {
    try checkSweepPath(out, flag: "the sweep file")
    try table.write(out)
    let base = (out as NSString).deletingPathExtension
    try writeAtomically(base + ".csv", Data(table.csv().utf8))
    try writeAtomically(base + ".svg", Data(table.heatmapSVG().utf8))
    try writeAtomically(base + "-pareto.svg", Data(paretoSVG(table).utf8))
}

/// Refuses a sweep file named like one of its companions: the table itself is HDF5, and its .csv, .svg and
/// -pareto.svg are written beside it under the same base name, so `X.csv` would be overwritten by its own CSV (and
/// then not read back as a sweep).
func checkSweepPath(_ path: String, flag: String) throws {
    let ext = (path as NSString).pathExtension.lowercased()
    guard ext != "csv" && ext != "svg" else {
        let base = (path as NSString).deletingPathExtension
        throw ValidationError(
            "\(flag) \(path) is written as HDF5 with its .csv and .svg beside it: name it \(base).h5")
    }
}

/// Signal against damage for every evaluated setting, with the Pareto front drawn and its settings listed.
func paretoSVG(_ table: SweepTable) -> String {
    let front = table.paretoFront
    let frontSet = Set(front)
    var plot = LinePlot(
        title: "\(table.environment): signal against damage (\(table.episodes) episodes per setting)",
        xLabel: "mean damage at the episode's end", yLabel: "mean signal (bits)")
    let others = table.results.keys.sorted().filter { !frontSet.contains($0) }.map { table.results[$0]! }
    plot.series.append(
        LinePlot.Series(
            label: "other settings", color: "#999999", points: others.map { ($0.damage.mean, $0.signal.mean) },
            markers: true, lineless: true))
    plot.series.append(
        LinePlot.Series(
            label: "Pareto front (\(front.count) settings; e⁻/Å²/s @ frames/s)", color: "#c0392b",
            points: front.map { (table.results[$0]!.damage.mean, table.results[$0]!.signal.mean) }, markers: true,
            pointLabels: front.map {
                String(format: "%g@%g", table.results[$0]!.doseRate, table.results[$0]!.frameRate)
            }
        ))
    return plot.svg()
}

func printSweep(_ table: SweepTable) {
    print("| dose rate | frame rate | return (mean ± 95% CI) | signal | damage | length | destroyed |")
    print("|---:|---:|---|---:|---:|---:|---:|")
    for i in table.results.keys.sorted() {
        let r = table.results[i]!
        print(
            String(
                format: "| %g | %g | %.2f ± %.2f | %.1f | %.3f | %.1f | %.2f |", r.doseRate, r.frameRate,
                r.episodeReturn.mean,
                r.episodeReturn.ci95, r.signal.mean, r.damage.mean, r.length.mean, r.destroyedFraction))
    }
    if table.isComplete, let b = table.best {
        print(
            String(
                format: "best fixed setting: %g e⁻/Å²/s at %g frames/s, return %.2f ± %.2f", b.doseRate, b.frameRate,
                b.episodeReturn.mean, b.episodeReturn.ci95))
    }
    if let o = table.hindsightOracle {
        print(
            String(
                format:
                    "hindsight per-particle best setting: return %.2f ± %.2f, paired gain over the best fixed %.2f ± %.2f "
                    + "(the most that choosing one setting per particle could gain)",
                o.perEpisodeBest.mean, o.perEpisodeBest.ci95, o.gainOverBestFixed.mean, o.gainOverBestFixed.ci95))
    }
}
