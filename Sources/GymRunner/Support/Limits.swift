import ArgumentParser
import Foundation

/// Checks a numeric flag against its valid range; the error names the flag, the value and the range.
func requireRange<T: Comparable>(_ value: T, _ range: ClosedRange<T>, _ flag: String) throws {
    guard range.contains(value) else {
        throw ValidationError("\(flag) is \(value); it must lie in \(range.lowerBound) … \(range.upperBound)")
    }
}

/// Checks a floating-point flag: finite and inside `range`.
func requireFinite<T: BinaryFloatingPoint>(_ value: T, _ range: ClosedRange<T>, _ flag: String) throws {
    guard value.isFinite, range.contains(value) else {
        throw ValidationError(
            "\(flag) is \(value); it must be finite and lie in \(range.lowerBound) … \(range.upperBound)")
    }
}

/// Half the machine's physical memory: the most one command may plan to allocate.
var memoryBudget: Double { Double(ProcessInfo.processInfo.physicalMemory) / 2 }

/// Refuses work whose memory estimate exceeds `memoryBudget`, before anything is allocated.
func requireMemory(_ bytes: Double, _ what: String) throws {
    func gib(_ b: Double) -> String { String(format: "%.1f GiB", b / 1_073_741_824) }
    guard bytes <= memoryBudget else {
        throw ValidationError(
            "\(what) needs about \(gib(bytes)) of memory, more than half of this machine's \(gib(2 * memoryBudget)); ask for less"
        )
    }
}
