import ArgumentParser
import Foundation
import LeonardoSim
import MicroscopeGym

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check an environment against the API contract (spaces, seeding, reset/step, finite rewards).")
    @OptionGroup var environment: EnvironmentOptions
    @Option(help: "Seed of the check.") var seed: UInt64 = 12345

    func run() throws {
        let cell = try environment.make()
        do {
            for line in try checkEnvironment(cell, seed: seed) { print("ok: \(line)") }
            print("\(cell.spec.id): all checks passed")
        } catch let error as EnvironmentError {
            throw UserError("\(cell.spec.id): \(error)")
        }
    }
}
