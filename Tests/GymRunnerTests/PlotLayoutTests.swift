import Foundation
import XCTest

@testable import GymRunner
@testable import LeonardoSim
@testable import MicroscopeGym

/// Every plot kind at awkward sizes and data: every text box lies inside the view box, no two text boxes overlap,
/// and every numeric tick label is a round number (1, 2 or 5 × 10ᵏ steps).
final class PlotLayoutTests: XCTestCase {
    struct TextBox: CustomStringConvertible {
        var text: String
        var minX: Double, minY: Double, maxX: Double, maxY: Double
        var description: String { String(format: "'%@' [%.0f…%.0f × %.0f…%.0f]", text, minX, maxX, minY, maxY) }
        func overlaps(_ o: TextBox) -> Bool {
            minX < o.maxX - 0.5 && o.minX < maxX - 0.5 && minY < o.maxY - 0.5 && o.minY < maxY - 0.5
        }
    }

    /// The view box and the estimated box of every `<text>` (0.6 em per character, cap height 0.75 em above the
    /// baseline and 0.2 em below; `rotate(-90 …)` turns the box about its anchor).
    func layout(_ svg: String) throws -> (width: Double, height: Double, boxes: [TextBox]) {
        func attribute(_ name: String, _ tag: Substring) -> String? {
            guard let r = tag.range(of: " \(name)=\"") else { return nil }
            let rest = tag[r.upperBound...]
            return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
        }
        let header = try XCTUnwrap(svg.range(of: "<svg").map { svg[$0.lowerBound...].prefix { $0 != ">" } })
        let width = try XCTUnwrap(attribute("width", header).flatMap(Double.init))
        let height = try XCTUnwrap(attribute("height", header).flatMap(Double.init))
        let baseSize = attribute("font-size", header).flatMap(Double.init) ?? 12
        var boxes: [TextBox] = []
        var rest = svg[...]
        while let open = rest.range(of: "<text") {
            let tagEnd = try XCTUnwrap(rest[open.upperBound...].firstIndex(of: ">"))
            let tag = rest[open.lowerBound..<tagEnd]
            let close = try XCTUnwrap(rest[tagEnd...].range(of: "</text>"))
            let raw = String(rest[rest.index(after: tagEnd)..<close.lowerBound])
            let text = raw.replacingOccurrences(of: "&amp;", with: "&").replacingOccurrences(of: "&lt;", with: "<")
                .replacingOccurrences(of: "&gt;", with: ">")
            rest = rest[close.upperBound...]
            let x = try XCTUnwrap(attribute("x", tag).flatMap(Double.init), "\(tag)")
            let y = try XCTUnwrap(attribute("y", tag).flatMap(Double.init), "\(tag)")
            let size = attribute("font-size", tag).flatMap(Double.init) ?? baseSize
            let w = Double(text.count) * size * 0.6
            let anchor = attribute("text-anchor", tag) ?? "start"
            let start = anchor == "middle" ? x - w / 2 : anchor == "end" ? x - w : x
            var box = TextBox(text: text, minX: start, minY: y - 0.75 * size, maxX: start + w, maxY: y + 0.2 * size)
            if let transform = attribute("transform", tag), transform.hasPrefix("rotate(-90") {
                // Rotated a quarter turn counter-clockwise about (x, y): along-text runs up the page.
                box = TextBox(
                    text: text, minX: x - 0.75 * size, minY: y - (start + w - x), maxX: x + 0.2 * size,
                    maxY: y + (x - start))
            }
            boxes.append(box)
        }
        return (width, height, boxes)
    }

    func assertLegible(_ svg: String, _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let (width, height, boxes) = try layout(svg)
        XCTAssertFalse(boxes.isEmpty, "\(what): no text", file: file, line: line)
        for b in boxes {
            XCTAssertTrue(
                b.minX >= -0.5 && b.maxX <= width + 0.5 && b.minY >= -0.5 && b.maxY <= height + 0.5,
                "\(what): \(b) leaves the \(width)×\(height) view box", file: file, line: line)
        }
        for i in boxes.indices {
            for j in boxes.indices where j > i && boxes[i].overlaps(boxes[j]) {
                XCTFail("\(what): \(boxes[i]) overlaps \(boxes[j])", file: file, line: line)
            }
        }
    }

    /// The numeric labels among `texts` are evenly spaced by a round step (1, 2 or 5 × 10ᵏ), each a multiple of it.
    func assertRoundTicks(_ labels: [String], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let values = labels.compactMap(Double.init)
        guard values.count >= 2 else { return XCTFail("\(what): fewer than two numeric ticks", file: file, line: line) }
        let step = abs(values[1] - values[0])
        let exponent = log10(step).rounded(.down)
        let mantissa = step / pow(10, exponent)
        XCTAssertTrue(
            [1, 2, 5, 10].contains { abs(mantissa - $0) < 1e-6 }, "\(what): step \(step) of \(labels)", file: file,
            line: line)
        for v in values {
            XCTAssertEqual(
                (v / step).rounded(), v / step, accuracy: 1e-6, "\(what): \(v) is not a multiple of \(step)",
                file: file, line: line)
        }
    }

    func testNiceTicksAreRound() {
        XCTAssertEqual(NiceTicks(low: -8.2, high: 58).values, [-20, 0, 20, 40, 60])
        XCTAssertEqual(NiceTicks(low: -0.31, high: 8.6).values, [-2, 0, 2, 4, 6, 8, 10])
        XCTAssertEqual(NiceTicks(low: 0, high: 20_000).values, [0, 5000, 10000, 15000, 20000])
        XCTAssertEqual(NiceTicks(low: 0.012, high: 0.049).step, 0.01)
        XCTAssertEqual(NiceTicks(low: 0.012, high: 0.049).label(0.03), "0.03")
        let widened = NiceTicks(low: 3, high: 3).values
        XCTAssertTrue(
            widened.count >= 2 && widened.first! < 3 && widened.last! > 3, "an empty range widens: \(widened)")
        XCTAssertEqual(NiceTicks(low: -1e-9, high: 1).label(-0.0), "0.0")
    }

    func testLearningCurvesWithCrowdedReferencesStayLegible() throws {
        var rng = Xoshiro256StarStar(seed: 1)
        let curve = (1...400).map { ($0 * 50, 8 + 10 * rng.normal()) }
        let eval = stride(from: 2000, through: 20000, by: 2000).map { ($0, 12 + rng.normal(), 3.0) }
        // References 0.5 apart: the labels must be stacked, with leader lines.
        let baselines = ["fixed": 13.1, "heuristic": 12.6, "best_fixed": 12.9, "random": 1.5]
        for (w, h) in [(760.0, 420.0), (420.0, 260.0), (1400.0, 300.0)] {
            let svg = learningCurveSVG(
                curve: curve, eval: eval, baselines: baselines,
                title: "dqn on MixedSensitivity-v0 with a title long enough to need fitting at small widths", width: w,
                height: h)
            try assertLegible(svg, "learning curve \(w)×\(h)")
            let (_, _, boxes) = try layout(svg)
            assertRoundTicks(boxes.filter { $0.maxX < 72 }.map(\.text).reversed(), "learning curve y ticks")
        }
    }

    func testLinePlotsScoreboardsAndLogAxesStayLegible() throws {
        for (w, h) in [(760.0, 420.0), (360.0, 240.0)] {
            var plot = LinePlot(
                title: "Scoreboard: normalised test score per run (5 seeds per scenario) on every scenario",
                xLabel: "scenario", yLabel: "(agent − random)/(best fixed − random)", xTickLabels: false,
                legendBelow: true,
                xCategories: ["LiquidCell-v2", "BeamSensitive-v1", "DoseBudget-v1", "MixedSensitivity-v0"])
            plot.width = w
            plot.height = h
            for (k, agent) in ["dqn", "ppo", "recurrent"].enumerated() {
                plot.series.append(
                    LinePlot.Series(
                        label: "\(agent): IQM 0.9\(k) [0.8\(k), 0.99]", color: "#1f77b4",
                        points: (1...4).map { (Double($0) + 0.1 * Double(k), 0.3 + 0.2 * Double(k)) }, markers: true,
                        lineless: true))
            }
            try assertLegible(plot.svg(), "scoreboard \(w)×\(h)")
            var loss = LinePlot(title: "training loss", xLabel: "optimizer step", yLabel: "loss", logY: true)
            loss.width = w
            loss.height = h
            loss.series = [
                LinePlot.Series(
                    label: "training", color: "#6baed6", points: (1...50).map { (Double($0 * 37), 5 / Double($0)) })
            ]
            try assertLegible(loss.svg(), "log-axis plot \(w)×\(h)")
            let (_, _, boxes) = try layout(loss.svg())
            assertRoundTicks(boxes.filter { $0.minY > h - 52 && $0.maxY < h - 14 }.map(\.text), "x ticks")
        }
    }

    func testHeatMapHasAColourScaleAndFitsItsTitle() throws {
        var results: [Int: SettingResult] = [:]
        let doses = [1.0, 2, 5, 10, 20, 50, 100]
        let frames = [3.125, 6.25, 12.5, 25]
        for i in 0..<(doses.count * frames.count) {
            let value = -6.1 + 12.8 * Double((i * 7) % 28) / 27
            let e = Estimate([value, value + 0.5])
            results[i] = SettingResult(
                doseRate: doses[i / frames.count], frameRate: frames[i % frames.count], episodeReturn: e, signal: e,
                damage: e, length: e, destroyedFraction: 0)
        }
        let table = SweepTable(
            environment: "MixedSensitivity-v0-with-a-long-name", doseRates: doses, frameRates: frames, episodes: 200,
            seed: 5_000_000, results: results)
        let svg = table.heatmapSVG()
        try assertLegible(svg, "heat map")
        let (_, _, boxes) = try layout(svg)
        let barX: Double = 90 + 64 * 4 + 24
        let scale = boxes.filter { $0.minX >= barX - 0.5 }.map(\.text)
        XCTAssertTrue(scale.contains("return"), "the colour bar is named")
        assertRoundTicks(scale.filter { Double($0) != nil }, "colour scale")
        XCTAssertGreaterThanOrEqual(scale.compactMap(Double.init).count, 3, "the colour bar has a scale: \(scale)")
    }
}

extension PlotLayoutTests {
    /// The Pareto plot of a committed 200-episode sweep, whose front crowds eight settings into one corner.
    func testParetoPlotOfACommittedSweepStaysLegible() throws {
        var root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: root.appendingPathComponent("Package.swift").path) {
            root = root.deletingLastPathComponent()
        }
        let path = root.appendingPathComponent("docs/results/headroom/sweep-mixedsensitivity-v0-200.h5").path
        let table = try SweepTable.read(path)
        try assertLegible(paretoSVG(table), "Pareto plot")
        try assertLegible(table.heatmapSVG(), "heat map of the committed sweep")
    }
}
