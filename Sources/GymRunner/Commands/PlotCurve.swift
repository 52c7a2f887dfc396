import ArgumentParser
import Foundation
import LeonardoSim

struct PlotCurve: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot-curve",
        abstract: "Draw a LEONARDO training run's curve file (OUT-curve.csv of train-leonardo) as an SVG.")

    @Option(help: "Curve file written by train-leonardo --validation.") var csv: String
    @Option(help: "Output SVG (default: the CSV's path with .svg).") var out: String?
    @OptionGroup var overwriting: OverwriteOption
    @Option(help: "Plot title (default: the file name).") var title: String?

    func run() throws {
        guard let text = try? String(contentsOfFile: csv, encoding: .utf8) else {
            throw UserError("\(csv): cannot read the file")
        }
        guard text.hasPrefix("step,epoch,train_loss,validation_loss") else {
            throw UserError(
                "\(csv): not a train-leonardo curve file (its header must start with step,epoch,train_loss,validation_loss)"
            )
        }
        let path = out ?? (csv as NSString).deletingPathExtension + ".svg"
        try claimOutput(path, inputs: [csv], overwrite: overwriting.overwrite)
        try writeAtomically(
            path, Data(ValidationCurve.plot(csv: text, title: title ?? (csv as NSString).lastPathComponent).utf8))
        print("wrote \(path)")
    }
}
