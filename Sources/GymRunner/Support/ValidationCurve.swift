import ArgumentParser
import Foundation
import LeonardoSim

/// The validation curve of a LEONARDO run: OUT-curve.csv (one row per evaluation: step, epoch, the training
/// batch's or epoch's loss, the validation loss and its terms) and the best validation loss so far, whose checkpoint
/// is OUT-best.h5, and OUT-curve.svg, the plot of both losses against the step. A resumed run continues the file and
/// its best value.
struct ValidationCurve {
    let path: String, bestPath: String, plotPath: String
    private(set) var best = Double.infinity

    init(checkpoint: String, resuming: Bool) throws {
        let stem = (checkpoint as NSString).deletingPathExtension
        path = stem + "-curve.csv"
        bestPath = stem + "-best.h5"
        plotPath = stem + "-curve.svg"
        if resuming, let text = try? String(contentsOfFile: path, encoding: .utf8) {
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: ",")
                if fields.count > 3, let v = Double(fields[3]) { best = min(best, v) }
            }
        } else {
            let header =
                "step,epoch,train_loss,validation_loss,"
                + LossTerms.names.map { "validation_" + $0 }.joined(separator: ",") + "\n"
            try writeDataAtomically(path, Data(header.utf8))
        }
    }

    mutating func append(step: Int, epoch: Double, train: Double, validation: LossTerms) throws {
        let row =
            "\(step),\(String(format: "%.4f", epoch)),\(train),\(validation.total),"
            + validation.values.map { "\($0)" }.joined(separator: ",") + "\n"
        let old = (try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data()
        try writeDataAtomically(path, old + Data(row.utf8))
        best = min(best, validation.total)
        try writeDataAtomically(
            plotPath,
            Data(
                Self.plot(
                    csv: String(decoding: old + Data(row.utf8), as: UTF8.self),
                    title: "LEONARDO training: " + (path as NSString).lastPathComponent
                ).utf8))
    }

    /// The training and validation losses of a curve file against the optimizer step.
    static func plot(csv: String, title: String) -> String {
        var train: [(x: Double, y: Double)] = []
        var validation: [(x: Double, y: Double)] = []
        for line in csv.split(separator: "\n").dropFirst() {
            let f = line.split(separator: ",").map { Double($0) }
            guard f.count > 3, let step = f[0], let t = f[2], let v = f[3] else { continue }
            train.append((step, t))
            validation.append((step, v))
        }
        var plot = LinePlot(title: title, xLabel: "optimizer step", yLabel: "loss", logY: true)
        plot.series = [
            LinePlot.Series(label: "training (batch or epoch mean)", color: "#6baed6", points: train),
            LinePlot.Series(label: "validation particles", color: "#d94801", points: validation, markers: true)
        ]
        return plot.svg()
    }
}
