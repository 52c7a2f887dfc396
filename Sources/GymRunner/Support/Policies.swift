import ArgumentParser
import Foundation
import LeonardoSim
import MicroscopeGym
import Agents

/// "settings used: 10 e⁻/Å²/s @ 12.5 fps 71%, …" — the settings a policy chose, most frequent first.
func actionUsage(_ counts: [Int], cell: LiquidCell, top: Int = 5) -> String {
    let total = max(counts.reduce(0, +), 1)
    let used = counts.enumerated().filter { $0.element > 0 }.sorted { $0.element > $1.element }
    let parts = used.prefix(top).map { a, n -> String in
        let (d, f) = cell.setting(for: a)
        return String(format: "%g e⁻/Å²/s @ %g fps %.0f%%", d, f, 100 * Double(n) / Double(total))
    }
    return "settings used: " + parts.joined(separator: ", ") + (used.count > top ? ", … (\(used.count) settings)" : "")
}
