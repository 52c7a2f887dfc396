import ArgumentParser
import Foundation
import LeonardoSim
import Agents
import MicroscopeGym

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the registered environments and the agents.")
    @Flag(help: "Print the table of spec fields (path, valid range, unit, meaning) as Markdown instead.")
    var specFields = false

    func run() throws {
        if specFields {
            print(LiquidCellSpec.fieldTable, terminator: "")
            return
        }
        print("environments (\(EnvironmentRegistry.directory)):")
        for id in try EnvironmentRegistry.checkedIDs() {
            let line: String
            if let spec = try? EnvironmentRegistry.spec(id: id) {
                line = spec.description
            } else {
                line = "(spec does not load: run 'gym-runner check --env \(id)')"
            }
            print("  \(id): \(line)")
        }
        print("agents (gym-runner --agent NAME):")
        for kind in AgentKind.allCases { print("  \(kind.rawValue): \(kind.summary)") }
    }
}
