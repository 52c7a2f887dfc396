import Foundation

/// Per-class precision, recall and F1 from true and predicted labels.
public struct ClassificationReport: Codable, Equatable {
    public var classes: [String]
    public var precision: [Double], recall: [Double], f1: [Double]
    public var accuracy: Double
    public var confusion: [[Int]]
    public init(truth: [Int64], predicted: [Int], classes: [String]) {
        let K = classes.count
        var cm = [[Int]](repeating: [Int](repeating: 0, count: K), count: K)
        for (t, p) in zip(truth, predicted) { cm[Int(t)][p] += 1 }
        self.classes = classes
        confusion = cm
        precision = (0..<K).map { k in
            let col = (0..<K).reduce(0) { $0 + cm[$1][k] }
            return col > 0 ? Double(cm[k][k]) / Double(col) : 0
        }
        recall = (0..<K).map { k in
            let row = cm[k].reduce(0, +)
            return row > 0 ? Double(cm[k][k]) / Double(row) : 0
        }
        let p = precision
        let r = recall
        f1 = (0..<K).map { p[$0] + r[$0] > 0 ? 2 * p[$0] * r[$0] / (p[$0] + r[$0]) : 0 }
        accuracy = Double((0..<K).reduce(0) { $0 + cm[$1][$1] }) / Double(max(truth.count, 1))
    }
}
