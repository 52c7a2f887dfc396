import ArgumentParser
import Foundation
import LeonardoSim
import MicroscopeGym

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check an environment against the API contract (spaces, seeding, reset/step, finite rewards).")
    @OptionGroup var environment: EnvironmentOptions
    @Option(help: "Seed of the check.") var seed: UInt64 = 12345
    @Flag(
        help:
            "Check the environment as the wrappers give it: through HoldLostFrames and through FillLostFrames (lost frames filled, uncertainty and belief added), as well as the belief features of LiquidCell.observingBelief."
    ) var wrappers = false

    func run() throws {
        let cell = try environment.make()
        do {
            for line in try checkEnvironment(cell, seed: seed) { print("ok: \(line)") }
            if wrappers {
                for line in try checkEnvironment(try HoldLostFrames(cell), seed: seed) {
                    print("ok (HoldLostFrames): \(line)")
                }
                let belief = try SegmentBelief(cell: cell)
                for line in try checkEnvironment(try FillLostFrames(cell, belief: belief), seed: seed) {
                    print("ok (FillLostFrames): \(line)")
                }
                for line in try checkEnvironment(cell.observingBelief(belief), seed: seed) {
                    print("ok (belief features): \(line)")
                }
            }
            print("\(cell.spec.id): all checks passed")
        } catch let error as EnvironmentError {
            throw UserError("\(cell.spec.id): \(error)")
        }
    }
}
