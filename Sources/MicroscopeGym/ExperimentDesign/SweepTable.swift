import Foundation
import LeonardoSim

/// A sweep over fixed settings (a grid of dose rates × frame rates), possibly one shard of it.
public struct SweepTable: Equatable {
    public var environment: String
    public var doseRates: [Double]
    public var frameRates: [Double]
    public var episodes: Int
    public var seed: UInt64
    /// Grid index (doseIndex · frameRates.count + frameIndex) → result, for the settings this table holds.
    public var results: [Int: SettingResult]

    public var isComplete: Bool { results.count == doseRates.count * frameRates.count }

    /// The grid index of the setting with the highest mean return; on a tie the lowest index (the order of the
    /// action grid), so the choice never depends on the dictionary's order.
    public var bestIndex: Int? {
        var best: Int? = nil
        for i in results.keys.sorted()
        where best == nil || results[i]!.episodeReturn.mean > results[best!]!.episodeReturn.mean {
            best = i
        }
        return best
    }

    /// The setting with the highest mean return (`bestIndex`).
    public var best: SettingResult? { bestIndex.map { results[$0]! } }

    /// The hindsight per-particle oracle: for each episode seed, the return of the setting that was best *for that
    /// episode*, and its paired gain over the best fixed setting. Because every setting sees the same particles,
    /// this bounds what any policy that picks one setting per particle could gain by adapting (a policy that
    /// switches within an episode can gain more); near zero, adaptivity cannot pay. Nil unless the table is complete
    /// and holds per-episode returns.
    public var hindsightOracle: (perEpisodeBest: Estimate, gainOverBestFixed: Estimate)? {
        guard let best, let oracle = hindsightReturns else { return nil }
        return (Estimate(oracle), Estimate(zip(oracle, best.episodeReturns).map { $0 - $1 }))
    }

    /// The hindsight oracle's return per episode seed (the best setting's for that episode), in seed order; nil
    /// unless the table is complete and holds per-episode returns.
    public var hindsightReturns: [Double]? {
        guard isComplete, episodes > 0, results.values.allSatisfy({ $0.episodeReturns.count == episodes }) else {
            return nil
        }
        return (0..<episodes).map { e in results.values.map { $0.episodeReturns[e] }.max()! }
    }

    /// Evaluates the settings of shard `shard` of `shards` (grid indices i with i mod shards == shard). Each
    /// setting uses episode seeds seed, seed+1, …, so shards merge into exactly the unsharded sweep.
    public static func run(
        _ env: LiquidCell, doseRates: [Double], frameRates: [Double], episodes: Int, seed: UInt64,
        shard: Int = 0, of shards: Int = 1, progress: ((Int, Int) -> Void)? = nil
    ) throws -> SweepTable {
        precondition(shards >= 1 && shard >= 0 && shard < shards)
        let spec = env.spec
        for d in doseRates where d < spec.doseRateRange[0] || d > spec.doseRateRange[1] {
            throw SweepError.settingOutsideRange(quantity: "dose rate", value: d, range: spec.doseRateRange)
        }
        for f in frameRates where f < spec.frameRateRange[0] || f > spec.frameRateRange[1] {
            throw SweepError.settingOutsideRange(quantity: "frame rate", value: f, range: spec.frameRateRange)
        }
        var table = SweepTable(
            environment: spec.id, doseRates: doseRates, frameRates: frameRates, episodes: episodes, seed: seed,
            results: [:])
        let mine = (0..<(doseRates.count * frameRates.count)).filter { $0 % shards == shard }
        for (n, i) in mine.enumerated() {
            table.results[i] = try ExperimentDesign.evaluate(
                env, doseRate: doseRates[i / frameRates.count],
                frameRate: frameRates[i % frameRates.count], episodes: episodes, seed: seed)
            progress?(n + 1, mine.count)
        }
        return table
    }

    /// Joins shards of one sweep; they must agree on environment, grid, episodes and seed, and not overlap.
    public static func merge(_ parts: [SweepTable]) throws -> SweepTable {
        guard var out = parts.first else { throw SweepError.noParts }
        for p in parts.dropFirst() {
            guard p.environment == out.environment, p.doseRates == out.doseRates, p.frameRates == out.frameRates,
                p.episodes == out.episodes, p.seed == out.seed
            else {
                throw SweepError.mismatchedParts
            }
            for (k, v) in p.results {
                if out.results[k] != nil {
                    throw SweepError.overlappingParts(setting: k)
                }
                out.results[k] = v
            }
        }
        return out
    }

    /// Writes the table as HDF5 (datasets over the grid, NaN where this shard has no result) atomically.
    public func write(_ path: String) throws {
        let n = doseRates.count * frameRates.count
        func field(_ f: (SettingResult) -> Double) -> [Double] { (0..<n).map { results[$0].map(f) ?? .nan } }
        try writeHDF5Atomically(path) { f in
            try f.setAttribute("format", "microscopegym.sweep/1")
            try f.setAttribute("environment", environment)
            try f.setAttribute("episodes", episodes)
            try f.write("seed", [UInt64](arrayLiteral: seed), shape: [1])
            try f.write("dose_rate", doseRates, shape: [doseRates.count])
            try f.write("frame_rate", frameRates, shape: [frameRates.count])
            try f.write(
                "evaluated", (0..<n).map { results[$0] == nil ? Int64(0) : 1 },
                shape: [doseRates.count, frameRates.count])
            let shape = [doseRates.count, frameRates.count]
            try f.write("return_mean", field { $0.episodeReturn.mean }, shape: shape)
            try f.write("return_ci95", field { $0.episodeReturn.ci95 }, shape: shape)
            try f.write("return_std", field { $0.episodeReturn.std }, shape: shape)
            try f.write("signal_mean", field { $0.signal.mean }, shape: shape)
            try f.write("signal_ci95", field { $0.signal.ci95 }, shape: shape)
            try f.write("damage_mean", field { $0.damage.mean }, shape: shape)
            try f.write("damage_ci95", field { $0.damage.ci95 }, shape: shape)
            try f.write("length_mean", field { $0.length.mean }, shape: shape)
            try f.write("length_ci95", field { $0.length.ci95 }, shape: shape)
            try f.write("destroyed_fraction", field { $0.destroyedFraction }, shape: shape)
            let perEpisode = (0..<n).flatMap { i -> [Double] in
                guard let r = results[i], r.episodeReturns.count == episodes else {
                    return [Double](repeating: .nan, count: episodes)
                }
                return r.episodeReturns
            }
            try f.write("episode_return", perEpisode, shape: shape + [episodes])
        }
    }

    /// Reads a table written by `write`.
    public static func read(_ path: String) throws -> SweepTable {
        let f = try HDF5File.open(path)
        defer { f.close() }
        guard try f.stringAttribute("format") == "microscopegym.sweep/1",
            let env = try f.stringAttribute("environment"),
            let episodes = try f.doubleAttribute("episodes")
        else {
            throw SweepError.notASweepFile(path)
        }
        let doses = try f.readDouble("dose_rate").data
        let frames = try f.readDouble("frame_rate").data
        let seed = try f.readUInt64("seed").data.first ?? 0
        let evaluated = try f.readInt64("evaluated").data
        func get(_ name: String) throws -> [Double] { try f.readDouble(name).data }
        let rm = try get("return_mean")
        let rc = try get("return_ci95")
        let rs = try get("return_std")
        let sm = try get("signal_mean")
        let sc = try get("signal_ci95")
        let dm = try get("damage_mean")
        let dc = try get("damage_ci95")
        let lm = try get("length_mean")
        let lc = try get("length_ci95")
        let destroyed = try get("destroyed_fraction")
        var results: [Int: SettingResult] = [:]
        let n = Int(episodes)
        let perEpisode = f.exists("episode_return") ? try get("episode_return") : []
        func est(_ m: Double, _ ci: Double, _ sd: Double) -> Estimate {
            var e = Estimate([])
            e.mean = m
            e.ci95 = ci
            e.std = sd
            e.count = n
            return e
        }
        for i in 0..<(doses.count * frames.count) where evaluated[i] == 1 {
            results[i] = SettingResult(
                doseRate: doses[i / frames.count], frameRate: frames[i % frames.count],
                episodeReturn: est(rm[i], rc[i], rs[i]),
                signal: est(sm[i], sc[i], sc[i] * Double(n).squareRoot() / 1.96),
                damage: est(dm[i], dc[i], dc[i] * Double(n).squareRoot() / 1.96),
                length: est(lm[i], lc[i], lc[i] * Double(n).squareRoot() / 1.96), destroyedFraction: destroyed[i],
                episodeReturns: perEpisode.count == doses.count * frames.count * n
                    ? Array(perEpisode[(i * n)..<((i + 1) * n)]) : [])
        }
        return SweepTable(
            environment: env, doseRates: doses, frameRates: frames, episodes: n, seed: seed, results: results)
    }

    /// The settings on the signal–damage Pareto front: no other evaluated setting gives at least as much mean signal
    /// with at most as much mean damage and is strictly better in one of them. Grid indices, sorted by damage.
    /// A scientist picks from these by how much damage the specimen tolerates.
    public var paretoFront: [Int] {
        let keys = results.keys.sorted()
        let front = keys.filter { i in
            let a = results[i]!
            return !keys.contains { j in
                let b = results[j]!
                return b.signal.mean >= a.signal.mean && b.damage.mean <= a.damage.mean
                    && (b.signal.mean > a.signal.mean || b.damage.mean < a.damage.mean)
            }
        }
        return front.sorted {
            (results[$0]!.damage.mean, results[$0]!.signal.mean) < (results[$1]!.damage.mean, results[$1]!.signal.mean)
        }
    }

    /// CSV with one row per evaluated setting; `pareto` is 1 for the settings on the signal–damage front.
    public func csv() -> String {
        var s =
            "dose_rate,frame_rate,return_mean,return_ci95,signal_mean,signal_ci95,damage_mean,damage_ci95,length_mean,length_ci95,destroyed_fraction,pareto\n"
        let front = Set(paretoFront)
        for i in results.keys.sorted() {
            let r = results[i]!
            s +=
                "\(r.doseRate),\(r.frameRate),\(r.episodeReturn.mean),\(r.episodeReturn.ci95),\(r.signal.mean),\(r.signal.ci95),\(r.damage.mean),\(r.damage.ci95),\(r.length.mean),\(r.length.ci95),\(r.destroyedFraction),\(front.contains(i) ? 1 : 0)\n"
        }
        return s
    }

    /// The heat map's diverging colour for t in [0, 1] (blue → green → red).
    static func color(_ t: Double) -> (Int, Int, Int) {
        (Int(255 * min(1, 2 * t)), Int(255 * (1 - abs(2 * t - 1)) * 0.8), Int(255 * min(1, 2 * (1 - t))))
    }

    /// An SVG heat map of the mean return over the grid (best setting outlined), with a colour bar.
    public func heatmapSVG() -> String {
        let cell = 64.0
        let left = 90.0
        let top = 58.0
        let title = "\(environment): mean return (\(episodes) episodes per setting)"
        let barX = left + cell * Double(frameRates.count) + 24  // colour bar right of the grid
        // Wide enough for the title (14 px, ~0.6 em per character) and the colour bar with its labels.
        let w = max(barX + 90, left + Double(title.count) * 8.4 + 20)
        let h = top + cell * Double(doseRates.count) + 60
        let values = results.values.map { $0.episodeReturn.mean }
        let lo = values.min() ?? 0
        let hi = max(values.max() ?? 1, lo + 1e-9)
        var s =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" font-family=\"sans-serif\" font-size=\"11\">\n"
        s +=
            "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"\(left)\" y=\"20\" font-size=\"14\">\(title)</text>\n"
        for di in 0..<doseRates.count {
            for fi in 0..<frameRates.count {
                let i = di * frameRates.count + fi
                let x = left + Double(fi) * cell
                let y = top + Double(doseRates.count - 1 - di) * cell
                guard let r = results[i] else {
                    s += String(
                        format: "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"#eeeeee\"/>\n", x, y,
                        cell, cell)
                    continue
                }
                let (red, green, blue) = SweepTable.color((r.episodeReturn.mean - lo) / (hi - lo))
                s += String(
                    format:
                        "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"rgb(%d,%d,%d)\" stroke=\"%@\" stroke-width=\"%@\"/>\n",
                    x, y, cell, cell, red, green, blue, i == bestIndex ? "black" : "white", i == bestIndex ? "3" : "1")
                s += String(
                    format: "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\" fill=\"black\">%.1f</text>\n",
                    x + cell / 2, y + cell / 2 + 4, r.episodeReturn.mean)
            }
            s += String(
                format: "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%g</text>\n", left - 6,
                top + Double(doseRates.count - 1 - di) * cell + cell / 2 + 4, doseRates[di])
        }
        for fi in 0..<frameRates.count {
            s += String(
                format: "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">%g</text>\n",
                left + Double(fi) * cell + cell / 2, top + cell * Double(doseRates.count) + 16, frameRates[fi])
        }
        // Colour bar: the return each colour stands for.
        let barH = cell * Double(doseRates.count)
        for k in 0..<20 {
            let (red, green, blue) = SweepTable.color(1 - (Double(k) + 0.5) / 20)
            s += String(
                format: "<rect x=\"%.0f\" y=\"%.1f\" width=\"14\" height=\"%.1f\" fill=\"rgb(%d,%d,%d)\"/>\n", barX,
                top + barH * Double(k) / 20, barH / 20 + 0.5, red, green, blue)
        }
        // Its scale: round ticks (NiceTicks) inside the data range, each with a tick mark; the name above the bar.
        let ticks = NiceTicks(low: lo, high: hi, count: 6)
        for v in ticks.values where v >= lo - 1e-9 && v <= hi + 1e-9 {
            let y = top + barH * (hi - v) / (hi - lo)
            s += String(
                format: "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"black\"/>\n", barX + 14, y,
                barX + 18, y)
            s += String(format: "<text x=\"%.0f\" y=\"%.1f\">%@</text>\n", barX + 20, y + 4, ticks.label(v))
        }
        s += String(format: "<text x=\"%.0f\" y=\"%.0f\">return</text>\n", barX, top - 8)
        s += String(
            format: "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">frame rate (frames/s)</text>\n",
            left + cell * Double(frameRates.count) / 2, h - 18)
        s += String(
            format:
                "<text x=\"16\" y=\"%.0f\" transform=\"rotate(-90 16 %.0f)\" text-anchor=\"middle\">dose rate (e⁻/Å²/s)</text>\n",
            top + cell * Double(doseRates.count) / 2, top + cell * Double(doseRates.count) / 2)
        return s + "</svg>\n"
    }
}
