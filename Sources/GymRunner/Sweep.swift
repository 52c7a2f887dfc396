import ArgumentParser
import Foundation
import LeonardoSim
import MicroscopeGym

struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "In-silico experiment design: evaluate every fixed (dose rate, frame rate) setting of a grid.")

    @OptionGroup var environment: EnvironmentOptions
    @Option(help: "Episodes per setting.") var episodes: Int = 8
    @Option(help: "Seed of the first episode (episode e uses seed + e; the same seeds for every setting).") var seed: UInt64 = 1000

    func run() throws {
        let cell = try environment.make()
        var best: SettingResult? = nil
        print("| dose rate | frame rate | return | signal | damage | length | destroyed |")
        for d in cell.spec.doseRates {
            for f in cell.spec.frameRates {
                let r = try ExperimentDesign.evaluate(cell, doseRate: d, frameRate: f, episodes: episodes, seed: seed)
                print(String(format: "| %g | %g | %.2f ± %.2f | %.1f | %.3f | %.1f | %.2f |", d, f, r.episodeReturn.mean, r.episodeReturn.ci95,
                             r.signal.mean, r.damage.mean, r.length.mean, r.destroyedFraction))
                if best == nil || r.episodeReturn.mean > best!.episodeReturn.mean { best = r }
            }
        }
        if let best { print(String(format: "best fixed setting: %g e/Å²/s at %g frames/s, return %.2f ± %.2f", best.doseRate, best.frameRate, best.episodeReturn.mean, best.episodeReturn.ci95)) }
    }
}
