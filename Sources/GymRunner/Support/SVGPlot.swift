import Foundation
import MicroscopeGym

/// `text` with XML's special characters escaped (every SVG of the runner).
func escapeXML(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;")
}

/// A small SVG line chart: series of points, optional log-scaled y axis, title, axis labels and a legend, all
/// kept inside the view box (the legend sits in the plot area's emptier upper corner on a white box).
struct LinePlot {
    struct Series {
        var label: String
        var color: String
        var points: [(x: Double, y: Double)]
        var dashed = false
        var markers = false
        /// Markers only, no connecting line (a scatter).
        var lineless = false
        /// A short text beside each point (same order as `points`), e.g. the setting it stands for.
        var pointLabels: [String] = []
    }

    var title: String
    var xLabel: String
    var yLabel: String
    var logY = false
    /// Numeric tick labels on the x axis (off where the x positions only separate categories).
    var xTickLabels = true
    /// The legend below the axes (the canvas grows to hold it) instead of in a corner of the plot area.
    var legendBelow = false
    /// Names of categories at x = 1, 2, …, written under the axis (outside the plot area) instead of numeric ticks.
    var xCategories: [String] = []
    var series: [Series] = []
    var width = 760.0, height = 420.0

    /// Rough text width in px of 12 px sans-serif (0.6 em per character): enough to keep labels inside.
    static func textWidth(_ s: String, size: Double = 12) -> Double { Double(s.count) * size * 0.6 }

    /// `text` at the largest font size from `size` down to 8 px that fits `width`, cut with "…" where even 8 px does
    /// not.
    static func fitted(_ text: String, width: Double, size: Double) -> (text: String, size: Double) {
        var size = size
        while textWidth(text, size: size) > width && size > 8 { size -= 1 }
        guard textWidth(text, size: size) > width else { return (text, size) }
        let keep = max(1, Int(width / (size * 0.6)) - 1)
        return (String(text.prefix(keep)) + "…", size)
    }

    func svg() -> String {
        let left = 72.0
        let right = 20.0
        let top = 44.0
        // Category names that do not fit their slot side by side even at 8 px go on two staggered rows.
        let slotWidth = (width - left - right) / Double(max(xCategories.count, 1))
        let staggered = xCategories.contains { Self.textWidth($0, size: 8) > slotWidth - 4 }
        let bottom = staggered ? 66.0 : 52.0
        let all = series.flatMap { $0.points }.filter { $0.x.isFinite && $0.y.isFinite && (!logY || $0.y > 0) }
        func ty(_ y: Double) -> Double { logY ? log10(y) : y }
        var x0 = all.map { $0.x }.min() ?? 0
        var x1 = all.map { $0.x }.max() ?? 1
        var y0 = all.map { ty($0.y) }.min() ?? 0
        var y1 = all.map { ty($0.y) }.max() ?? 1
        if !xCategories.isEmpty {
            x0 = min(x0, 0.5)
            x1 = max(x1, Double(xCategories.count) + 0.5)
        }
        // Round ticks (NiceTicks) that span the data; the axes end at the outer ticks. A log axis ticks at powers
        // of ten.
        let xTicks = NiceTicks(low: x0, high: x1)
        if xCategories.isEmpty { (x0, x1) = (xTicks.low, xTicks.high) }
        let yTicks = NiceTicks(low: y0, high: y1)
        let yTickValues: [Double]
        if logY {
            (y0, y1) = (y0.rounded(.down), max(y1.rounded(.up), y0.rounded(.down) + 1))
            yTickValues = stride(from: y0, through: y1, by: max(1, ((y1 - y0) / 5).rounded(.up))).map { $0 }
        } else {
            (y0, y1) = (yTicks.low, yTicks.high)
            yTickValues = yTicks.values
        }
        let plotW = width - left - right
        let plotH = height - top - bottom
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * plotW }
        func py(_ y: Double) -> Double { top + (y1 - ty(y)) / (y1 - y0) * plotH }
        let legend = series.filter { !$0.label.isEmpty }
        let legendW = (legend.map { Self.textWidth($0.label) }.max() ?? 0) + 36
        let legendH = Double(legend.count) * 16 + 8
        let canvasHeight = legendBelow ? height + legendH + 8 : height
        var s = String(
            format:
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n",
            width, canvasHeight, width, canvasHeight)
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        // Title: shrink the font until it fits the width.
        let (titleText, titleSize) = Self.fitted(title, width: width - 20, size: 15)
        s += String(
            format: "<text x=\"%.1f\" y=\"24\" font-size=\"%.0f\" text-anchor=\"middle\">%@</text>\n", width / 2,
            titleSize, escapeXML(titleText))
        s += String(
            format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"black\"/>\n",
            left, top, plotW, plotH)
        for yt in yTickValues {
            let yv = logY ? pow(10, yt) : yt
            let label = logY ? format(yv) : yTicks.label(yv)
            s += String(
                format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%@</text>\n", left - 6, py(yv) + 4, label)
        }
        if xTickLabels && xCategories.isEmpty {
            for xv in xTicks.values {
                s += String(
                    format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%@</text>\n", px(xv),
                    height - bottom + 18, xTicks.label(xv))
            }
        }
        // Category names under the axis: shrunk to fit their slot, or on two staggered rows (each name then has two
        // slots), never over the plot area.
        let slot = plotW / max(x1 - x0, 1e-9) * (staggered ? 2 : 1)
        for (i, name) in xCategories.enumerated() {
            let (shown, size) = Self.fitted(name, width: slot - 4, size: 12)
            let row = staggered && i % 2 == 1 ? 14.0 : 0
            // Centred under its point, moved inward where it would leave the canvas.
            let half = Self.textWidth(shown, size: size) / 2
            let x = min(max(px(Double(i + 1)), half + 2), width - half - 2)
            s += String(
                format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%.0f\" text-anchor=\"middle\">%@</text>\n",
                x, height - bottom + 18 + row, size, escapeXML(shown))
        }
        s += String(
            format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%@</text>\n", left + plotW / 2, height - 12,
            escapeXML(xLabel))
        let (yText, ySize) = Self.fitted(yLabel + (logY ? " (log scale)" : ""), width: plotH, size: 12)
        s += String(
            format:
                "<text x=\"16\" y=\"%.1f\" transform=\"rotate(-90 16 %.1f)\" font-size=\"%.0f\" text-anchor=\"middle\">%@</text>\n",
            top + plotH / 2, top + plotH / 2, ySize, escapeXML(yText))
        // Legend (series with a label): below the axes, or in the upper corner whose quarter of the plot holds fewer
        // points.
        let rightSide =
            all.filter { px($0.x) > left + plotW / 2 && py($0.y) < top + plotH / 2 }.count
            <= all.filter { px($0.x) <= left + plotW / 2 && py($0.y) < top + plotH / 2 }.count
        let lx = legendBelow ? left : rightSide ? left + plotW - legendW - 8 : left + 8
        let ly = legendBelow ? height : top + 8
        // Point labels are placed one by one beside their point, at the first of eight positions that leaves the
        // plot area, the legend and every label placed before alone (else the first that stays inside the plot).
        var taken: [(Double, Double, Double, Double)] = [(lx, ly, lx + legendW, ly + legendH)]
        func free(_ b: (Double, Double, Double, Double)) -> Bool {
            b.0 >= left && b.2 <= left + plotW && b.1 >= top && b.3 <= top + plotH
                && !taken.contains { b.0 < $0.2 && $0.0 < b.2 && b.1 < $0.3 && $0.1 < b.3 }
        }
        for item in series {
            let pts = item.points.filter { $0.x.isFinite && $0.y.isFinite && (!logY || $0.y > 0) }
            guard !pts.isEmpty else { continue }
            let dash = item.dashed ? " stroke-dasharray=\"6 4\"" : ""
            if !item.lineless {
                s +=
                    "<polyline fill=\"none\" stroke=\"\(item.color)\" stroke-width=\"2\"\(dash) points=\""
                    + pts.map { String(format: "%.1f,%.1f", px($0.x), py($0.y)) }.joined(separator: " ") + "\"/>\n"
            }
            for (p, label) in zip(item.points, item.pointLabels) where p.x.isFinite && p.y.isFinite {
                let w = Self.textWidth(label, size: 10)
                let (x, y) = (px(p.x), py(p.y))
                // (text start x, baseline y) of each candidate: right/left of the point, above, level and below.
                let candidates = [
                    (x + 6, y - 5), (x - 6 - w, y - 5), (x + 6, y + 4), (x - 6 - w, y + 4), (x + 6, y + 13),
                    (x - 6 - w, y + 13), (x - w / 2, y - 9), (x - w / 2, y + 17)
                ]
                let boxes = candidates.map { ($0.0, $0.1 - 8, $0.0 + w, $0.1 + 2) }
                let chosen =
                    boxes.firstIndex(where: free)
                    ?? boxes.firstIndex { $0.0 >= left && $0.2 <= left + plotW && $0.1 >= top && $0.3 <= top + plotH }
                    ?? 0
                taken.append(boxes[chosen])
                s +=
                    "<text x=\"\(String(format: "%.1f", candidates[chosen].0))\" y=\"\(String(format: "%.1f", candidates[chosen].1))\" "
                    + "font-size=\"10\" fill=\"\(item.color)\">\(escapeXML(label))</text>\n"
            }
            if item.markers {
                for p in pts {
                    s += String(
                        format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%@\"/>\n", px(p.x), py(p.y), item.color)
                }
            }
        }
        s += String(
            format:
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#bbb\"/>\n",
            lx, ly, legendW, legendH)
        for (i, item) in legend.enumerated() {
            let y = ly + 16 + Double(i) * 16
            let dash = item.dashed ? " stroke-dasharray=\"6 4\"" : ""
            if item.lineless {
                s += String(
                    format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%@\"/>\n", lx + 16, y - 4, item.color)
            } else {
                s += String(
                    format:
                        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%@\" stroke-width=\"2\"%@/>\n",
                    lx + 6, y - 4, lx + 26, y - 4, item.color, dash)
            }
            s += String(format: "<text x=\"%.1f\" y=\"%.1f\">%@</text>\n", lx + 30, y, escapeXML(item.label))
        }
        return s + "</svg>\n"
    }

    private func format(_ v: Double) -> String {
        let a = abs(v)
        if a >= 1e4 || (a > 0 && a < 1e-2) { return String(format: "%.1e", v) }
        if a >= 100 { return String(format: "%.0f", v) }
        return String(format: "%.2g", v)
    }

}
