import Foundation

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
    var series: [Series] = []
    var width = 760.0, height = 420.0

    /// Rough text width in px of 12 px sans-serif (0.6 em per character): enough to keep labels inside.
    static func textWidth(_ s: String, size: Double = 12) -> Double { Double(s.count) * size * 0.6 }

    func svg() -> String {
        let left = 72.0
        let right = 20.0
        let top = 44.0
        let bottom = 52.0
        let all = series.flatMap { $0.points }.filter { $0.x.isFinite && $0.y.isFinite && (!logY || $0.y > 0) }
        func ty(_ y: Double) -> Double { logY ? log10(y) : y }
        var x0 = all.map { $0.x }.min() ?? 0
        var x1 = all.map { $0.x }.max() ?? 1
        var y0 = all.map { ty($0.y) }.min() ?? 0
        var y1 = all.map { ty($0.y) }.max() ?? 1
        if x1 - x0 < 1e-12 {
            x0 -= 1
            x1 += 1
        }
        if y1 - y0 < 1e-12 {
            y0 -= 1
            y1 += 1
        }
        let pad = 0.05 * (y1 - y0)
        y0 -= pad
        y1 += pad
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
        var titleSize = 15.0
        while Self.textWidth(title, size: titleSize) > width - 20 && titleSize > 8 { titleSize -= 1 }
        s += String(
            format: "<text x=\"%.1f\" y=\"24\" font-size=\"%.0f\" text-anchor=\"middle\">%@</text>\n", width / 2,
            titleSize, escape(title))
        s += String(
            format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"black\"/>\n",
            left, top, plotW, plotH)
        for i in 0...4 {
            let xv = x0 + Double(i) / 4 * (x1 - x0)
            let yt = y0 + Double(i) / 4 * (y1 - y0)
            let yv = logY ? pow(10, yt) : yt
            s += String(
                format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%@</text>\n", left - 6, py(yv) + 4, format(yv))
            if xTickLabels {
                s += String(
                    format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%@</text>\n", px(xv),
                    height - bottom + 18, format(xv))
            }
        }
        s += String(
            format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%@</text>\n", left + plotW / 2, height - 12,
            escape(xLabel))
        s += String(
            format: "<text x=\"16\" y=\"%.1f\" transform=\"rotate(-90 16 %.1f)\" text-anchor=\"middle\">%@</text>\n",
            top + plotH / 2, top + plotH / 2, escape(yLabel + (logY ? " (log scale)" : "")))
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
                // Beside the point, on the side that keeps the text inside the plot.
                let onLeft = px(p.x) + 6 + Self.textWidth(label, size: 10) > left + plotW
                s +=
                    "<text x=\"\(String(format: "%.1f", px(p.x) + (onLeft ? -6 : 6)))\" y=\"\(String(format: "%.1f", py(p.y) - 5))\" "
                    + "font-size=\"10\" text-anchor=\"\(onLeft ? "end" : "start")\" fill=\"\(item.color)\">\(escape(label))</text>\n"
            }
            if item.markers {
                for p in pts {
                    s += String(
                        format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%@\"/>\n", px(p.x), py(p.y), item.color)
                }
            }
        }
        // Legend (series with a label): below the axes, or in the upper corner whose quarter of the plot holds fewer
        // points.
        let rightSide =
            all.filter { px($0.x) > left + plotW / 2 && py($0.y) < top + plotH / 2 }.count
            <= all.filter { px($0.x) <= left + plotW / 2 && py($0.y) < top + plotH / 2 }.count
        let lx = legendBelow ? left : rightSide ? left + plotW - legendW - 8 : left + 8
        let ly = legendBelow ? height : top + 8
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
            s += String(format: "<text x=\"%.1f\" y=\"%.1f\">%@</text>\n", lx + 30, y, escape(item.label))
        }
        return s + "</svg>\n"
    }

    private func format(_ v: Double) -> String {
        let a = abs(v)
        if a >= 1e4 || (a > 0 && a < 1e-2) { return String(format: "%.1e", v) }
        if a >= 100 { return String(format: "%.0f", v) }
        return String(format: "%.2g", v)
    }

    private func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(
            of: ">", with: "&gt;")
    }
}
