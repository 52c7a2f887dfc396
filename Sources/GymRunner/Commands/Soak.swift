import ArgumentParser
import Foundation
import LeonardoSim
import MicroscopeGym

/// A soak benchmark: steps an environment many times with random actions and auto-reset, printing the resident
/// memory at intervals. Memory that stays flat means no per-step leak in the environment, its wrappers or the decoder.
struct Soak: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Step an environment N times (random actions, auto-reset) and print resident memory at intervals.",
        discussion: """
            --tiny-decoder swaps the shipped LEONARDO for a small random one with the same length, latent size and dose \
            calibration, so that 10⁶ steps take minutes instead of hours; the environment code path is the same.
            """)
    @OptionGroup var environment: EnvironmentOptions
    @Option(help: "Steps, 1 … 10⁹.") var steps: Int = 1_000_000
    @Option(help: "Memory reports (at log-spaced step counts).") var reports: Int = 7
    @Option(help: "Seed of the actions and of the first reset.") var seed: UInt64 = 1
    @Flag(help: "Use a small random decoder instead of the shipped model (faster).") var tinyDecoder = false

    func validate() throws {
        try requireRange(steps, 1...1_000_000_000, "--steps")
        try requireRange(reports, 1...100, "--reports")
    }

    /// Resident set size of this process in MiB (Linux /proc/self/statm).
    static func residentMiB() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return .nan }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Double(fields[1]) else { return .nan }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
    }

    func run() throws {
        var cell = try environment.make()
        if tinyDecoder {
            cell = try cell.withSmallRandomDecoder(seed: 1)
        }
        var env = try HoldLostFrames(cell)
        var rng = Xoshiro256StarStar(seed: seed)
        _ = try env.reset(seed: seed)
        let marks = Set(
            (0..<reports).map { i in
                Int((pow(Double(steps), Double(i + 1) / Double(reports))).rounded())
            })
        print("step        resident MiB   steps/s")
        let start = Date()
        var episodes = 0
        var total = 0.0
        for step in 1...steps {
            let s = try env.step(rng.uniformInt(cell.actionSpace.n))
            total += s.reward
            if s.done {
                episodes += 1
                _ = try env.reset(seed: nil)
            }
            if marks.contains(step) {
                let rate = Double(step) / Date().timeIntervalSince(start)
                print(String(format: "%-11d %12.1f %9.0f", step, Soak.residentMiB(), rate))
            }
        }
        guard total.isFinite else { throw UserError("the summed reward became \(total) over \(steps) steps") }
        print(
            "\(steps) steps, \(episodes) episodes of \(cell.spec.id)\(tinyDecoder ? " (tiny decoder)" : ""); summed reward finite"
        )
    }
}
