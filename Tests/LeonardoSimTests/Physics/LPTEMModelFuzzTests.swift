import Foundation
import XCTest
@testable import LeonardoSim

/// Property-based fuzzing of the LPTEM-like model file (`dataset --model-file`): random and extreme field values
/// give a clear error or finite trajectories at the extreme dose rates a flag may name (10⁻³ and 10⁵ e⁻/Å²/s).
final class LPTEMModelFuzzTests: XCTestCase {
    func testModelFileGivesAClearErrorOrFiniteTrajectories() throws {
        let base = try JSONSerialization.jsonObject(with: JSONEncoder().encode(LPTEMModel())) as! [String: Any]
        let keys = base.keys.sorted()
        let values: [Any] = [
            0, -1, 1e-300, 1e308, -1e308, 1e9, 0.5, 1, 5, 10, "x", NSNull(), [0.2, 0.4], [0.9, 0.1], true
        ]
        var rng = Xoshiro256StarStar(seed: 7)
        var accepted = 0
        for i in 0..<1500 {
            var object = base
            for _ in 0..<(1 + rng.uniformInt(3)) {
                let key = keys[rng.uniformInt(keys.count)]
                switch rng.uniformInt(6) {
                case 0: object[key] = nil
                case 1: object[key + "_"] = 1
                case 2: object[key] = (rng.uniform() * 10) * pow(10, Double(rng.uniformInt(41)) - 20)
                default: object[key] = values[rng.uniformInt(values.count)]
                }
            }
            let data = try JSONSerialization.data(withJSONObject: object)
            let model: LPTEMModel
            do {
                model = try JSONDecoder().decode(LPTEMModel.self, from: data)
                try model.validate()
            } catch {
                XCTAssertFalse("\(error)".contains("\n"), "input \(i): multi-line error \(error)")
                continue
            }
            accepted += 1
            for dose in [1e-3, 1e5] {
                let t = model.trajectory(doseRate: dose, length: 64, using: &rng)
                XCTAssertTrue(
                    t.allSatisfy(\.isFinite), "input \(i): non-finite trajectory at \(dose) e/A2/s: \(object)")
            }
        }
        XCTAssertGreaterThan(accepted, 100)
    }
}
