import ArgumentParser
import Foundation
import LeonardoSim
import MicroscopeGym
import Agents

/// An SVG learning curve: episode returns (light), their moving average, evaluation means with 95 % CIs, and
/// dashed baselines.
func learningCurveSVG(
    curve: [(Int, Double)], eval: [(Int, Double, Double)], baselines: [String: Double], title: String,
    width w: Double = 760, height h: Double = 420
) -> String {
    let left = 70.0
    let right = 150.0
    let top = 40.0
    let bottom = 50.0
    let xs = curve.map { Double($0.0) } + eval.map { Double($0.0) }
    let ys = curve.map { $0.1 } + eval.flatMap { [$0.1 - $0.2, $0.1 + $0.2] } + Array(baselines.values)
    let finite = ys.filter { $0.isFinite }
    // Round ticks spanning the data; the axes end at the outer ticks.
    let xTicks = NiceTicks(low: 0, high: max(xs.max() ?? 1, 1))
    let yTicks = NiceTicks(low: finite.min() ?? 0, high: finite.max() ?? 1)
    let (x0, x1) = (xTicks.low, xTicks.high)
    let (y0, y1) = (yTicks.low, yTicks.high)
    func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * (w - left - right) }
    func py(_ y: Double) -> Double { top + (y1 - y) / (y1 - y0) * (h - top - bottom) }
    var s =
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" viewBox=\"0 0 \(Int(w)) \(Int(h))\" font-family=\"sans-serif\" font-size=\"12\">\n"
    let (titleText, titleSize) = LinePlot.fitted(title, width: w - left - 10, size: 15)
    s +=
        "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"\(left)\" y=\"22\" font-size=\"\(Int(titleSize))\">\(escapeXML(titleText))</text>\n"
    s += "<line x1=\"\(left)\" y1=\"\(h - bottom)\" x2=\"\(w - right)\" y2=\"\(h - bottom)\" stroke=\"black\"/>\n"
    s += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(h - bottom)\" stroke=\"black\"/>\n"
    for yv in yTicks.values {
        s += String(
            format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%@</text>\n", left - 6, py(yv) + 4,
            yTicks.label(yv))
    }
    for xv in xTicks.values {
        s += String(
            format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%@</text>\n", px(xv), h - bottom + 18,
            xTicks.label(xv))
    }
    s += "<text x=\"\((left + w - right) / 2)\" y=\"\(h - 10)\" text-anchor=\"middle\">environment steps</text>\n"
    s +=
        "<text x=\"16\" y=\"\((top + h - bottom) / 2)\" transform=\"rotate(-90 16 \((top + h - bottom) / 2))\" text-anchor=\"middle\">episode return</text>\n"
    if !curve.isEmpty {
        s +=
            "<polyline fill=\"none\" stroke=\"#9ecae1\" stroke-width=\"1\" points=\""
            + curve.map { String(format: "%.1f,%.1f", px(Double($0.0)), py($0.1)) }.joined(separator: " ") + "\"/>\n"
        var avg: [(Int, Double)] = []
        for i in curve.indices {
            let lo = max(0, i - 19)
            avg.append((curve[i].0, curve[lo...i].map { $0.1 }.reduce(0, +) / Double(i - lo + 1)))
        }
        s +=
            "<polyline fill=\"none\" stroke=\"#08519c\" stroke-width=\"2\" points=\""
            + avg.map { String(format: "%.1f,%.1f", px(Double($0.0)), py($0.1)) }.joined(separator: " ") + "\"/>\n"
    }
    for e in eval {
        s += String(
            format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#d94801\"/>\n", px(Double(e.0)),
            py(e.1 - (e.2.isFinite ? e.2 : 0)), px(Double(e.0)), py(e.1 + (e.2.isFinite ? e.2 : 0)))
        s += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#d94801\"/>\n", px(Double(e.0)), py(e.1))
    }
    // Baselines: dashed lines, labelled at the right edge; labels closer than 14 px are pushed apart (kept in order).
    let colors = ["#636363", "#31a354", "#756bb1", "#e6550d"]
    let shown = baselines.sorted(by: { $0.key < $1.key }).enumerated().filter { $0.element.value.isFinite }
    var labelY: [Int: Double] = [:]
    var previous = -Double.infinity
    for (i, item) in shown.sorted(by: { py($0.element.value) < py($1.element.value) }) {
        let y = max(py(item.value) + 4, previous + 14)
        labelY[i] = y
        previous = y
    }
    let overflow = max(0, previous - (h - bottom + 4))
    for (i, (name, v)) in shown {
        let color = colors[i % colors.count]
        s += String(
            format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%@\" stroke-dasharray=\"6 4\"/>\n",
            left, py(v), w - right, py(v), color)
        let y = labelY[i]! - overflow
        if abs(y - 4 - py(v)) > 3 {
            // A leader line from the reference line's end to its label, which was moved to keep labels apart.
            s += String(
                format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%@\" stroke-width=\"0.8\"/>\n",
                w - right, py(v), w - right + 5, y - 4, color)
        }
        s +=
            "<text x=\"\(String(format: "%.1f", w - right + 6))\" y=\"\(String(format: "%.1f", y))\" "
            + "fill=\"\(color)\">\(escapeXML(name)) \(String(format: "%.1f", v))</text>\n"
    }
    // Legend inside the plot area, top left (early training returns sit low), on a white box.
    let entries = [("training (avg of 20)", "#08519c"), ("validation ± 95% CI (lines: test)", "#d94801")]
    let boxW = (entries.map { LinePlot.textWidth($0.0) }.max() ?? 0) + 40
    s += String(
        format:
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"white\" fill-opacity=\"0.9\" stroke=\"#bbb\"/>\n",
        left + 8, top + 6, boxW, Double(entries.count) * 16 + 8)
    for (k, entry) in entries.enumerated() {
        let y = top + 22 + Double(k) * 16
        s += String(
            format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%@\" stroke-width=\"2\"/>\n",
            left + 14, y - 4, left + 38, y - 4, entry.1)
        s += "<text x=\"\(left + 44)\" y=\"\(y)\" fill=\"\(entry.1)\">\(entry.0)</text>\n"
    }
    return s + "</svg>\n"
}
