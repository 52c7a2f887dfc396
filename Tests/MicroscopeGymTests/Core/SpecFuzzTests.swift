import Foundation
import XCTest
@testable import LeonardoSim
@testable import MicroscopeGym

/// Property-based fuzzing of the spec reader: thousands of random and mutated spec files (extreme numbers, wrong
/// types, missing, misspelled and unknown fields, unsorted grids, broken JSON). Each must give a clear one-line
/// error naming the file, or an environment whose steps stay finite and bounded.
final class SpecFuzzTests: XCTestCase {
    /// Values a mutation may put in a field.
    static let extremes: [Any] = [
        0, -1, 1e-300, 1e308, -1e308, 1e9, 3, 0.5, 12, 64, "x", NSNull(), [Any](), [String: Any](), true,
        Int.max, [1, 2], [2, 1], [5, 5], [1e308, 1e308], [0.001, 1e5], "NaN", -0.0
    ]

    /// Every dotted path of a JSON object.
    static func paths(_ object: [String: Any], prefix: String = "") -> [String] {
        object.flatMap { key, value -> [String] in
            let path = prefix.isEmpty ? key : prefix + "." + key
            if let nested = value as? [String: Any] { return [path] + paths(nested, prefix: path) }
            return [path]
        }.sorted()
    }

    static func get(_ object: [String: Any], _ path: [String]) -> Any? {
        guard let first = path.first else { return nil }
        if path.count == 1 { return object[first] }
        return (object[first] as? [String: Any]).flatMap { get($0, Array(path.dropFirst())) }
    }

    static func set(_ object: inout [String: Any], _ path: [String], _ value: Any?) {
        guard let first = path.first else { return }
        if path.count == 1 {
            object[first] = value
            return
        }
        var nested = object[first] as? [String: Any] ?? [:]
        set(&nested, Array(path.dropFirst()), value)
        object[first] = nested
    }

    func testSpecReaderGivesAClearErrorOrAFiniteBoundedRun() throws {
        let shipped = try Data(contentsOf: URL(fileURLWithPath: EnvironmentRegistry.directory + "/LiquidCell-v0.json"))
        var base = try JSONSerialization.jsonObject(with: shipped) as! [String: Any]
        base["segmentFrames"] = 32  // the small test model's length
        let allPaths = SpecFuzzTests.paths(base)
        var rng = Xoshiro256StarStar(seed: 2026)
        var refused = 0
        var ran = 0
        let inputs = 2500
        for i in 0..<inputs {
            var data: Data
            if i % 25 == 0 {
                // Raw garbage: random bytes, or a valid spec cut short.
                let n = rng.uniformInt(400)
                data =
                    rng.uniform() < 0.5
                    ? Data((0..<n).map { _ in UInt8(rng.uniformInt(256)) }) : shipped.prefix(n)
            } else {
                var spec = base
                for _ in 0..<(1 + rng.uniformInt(3)) {
                    let path = allPaths[rng.uniformInt(allPaths.count)].split(separator: ".").map(String.init)
                    switch rng.uniformInt(14) {
                    case 4, 5, 6, 7, 8:  // a mild change of a valid value: most such specs stay valid and must run
                        let factor = Foundation.exp(1.5 * rng.normal())
                        let current = SpecFuzzTests.get(spec, path)
                        if let x = current as? Double {
                            SpecFuzzTests.set(&spec, path, x * factor)
                        } else if let xs = current as? [Double] {
                            SpecFuzzTests.set(&spec, path, xs.map { $0 * factor })
                        }
                    case 0: SpecFuzzTests.set(&spec, path, nil)  // delete
                    case 1: SpecFuzzTests.set(&spec, path + ["extra"], 1)  // unknown nested field
                    case 2: spec[path[0] + "x"] = 1  // misspelled top-level field
                    case 3:  // a plausible number scaled by a random power of ten
                        let scale = pow(10, Double(rng.uniformInt(61)) - 30)
                        SpecFuzzTests.set(&spec, path, (rng.uniform() * 100 - 10) * scale)
                    default:
                        SpecFuzzTests.set(
                            &spec, path, SpecFuzzTests.extremes[rng.uniformInt(SpecFuzzTests.extremes.count)])
                    }
                }
                data = try JSONSerialization.data(withJSONObject: spec)
            }
            do {
                var parsed = try LiquidCellSpec.decode(data, file: "fuzz-\(i).json")
                parsed.checkpoint = "unused"
                var env = try HoldLostFrames(LiquidCell(spec: parsed, model: TestCell.model))
                var (o, _) = try env.reset(seed: UInt64(i))
                XCTAssertTrue(env.observationSpace.contains(o), "input \(i): reset observation outside the space")
                var total = 0.0
                for _ in 0..<3 {
                    let s = try env.step(rng.uniformInt(env.base.actionSpace.n))
                    XCTAssertTrue(s.reward.isFinite, "input \(i): reward \(s.reward)")
                    XCTAssertTrue(s.info.values.allSatisfy(\.isFinite), "input \(i): non-finite info")
                    XCTAssertLessThanOrEqual(
                        Double(s.info["decoded_segments"] ?? 0), LiquidCellSpec.maximumFrameRateRatio)
                    total += s.reward
                    o = s.observation
                    XCTAssertTrue(env.observationSpace.contains(o), "input \(i): observation outside the space")
                    if s.done { break }
                }
                XCTAssertTrue(total.isFinite)
                ran += 1
            } catch let error as EnvironmentError {
                refused += 1
                let message = error.description
                XCTAssertFalse(message.isEmpty)
                XCTAssertFalse(message.contains("\n"), "input \(i): a multi-line error: \(message)")
                if case .invalidSpec(let file, _, _) = error { XCTAssertEqual(file, "fuzz-\(i).json") }
            }
        }
        XCTAssertEqual(refused + ran, inputs)
        XCTAssertGreaterThan(ran, 300, "the mutations should leave some specs valid (ran \(ran), refused \(refused))")
        XCTAssertGreaterThan(refused, inputs / 2)
    }

    /// Misspelled fields are refused with the nearest field named.
    func testMisspelledFieldSuggestsTheRightOne() throws {
        let shipped = try String(contentsOfFile: EnvironmentRegistry.directory + "/LiquidCell-v0.json", encoding: .utf8)
        let bad = Data(shipped.replacingOccurrences(of: "signalWeight", with: "signalWieght").utf8)
        XCTAssertThrowsError(try LiquidCellSpec.decode(bad, file: "s.json")) { error in
            XCTAssertEqual(
                "\(error)",
                "s.json: field 'reward.signalWieght' is not a spec field (did you mean 'reward.signalWeight'?)")
        }
    }
}
