import Foundation
import XCTest
@testable import LeonardoSim
@testable import MicroscopeGym

final class SpecTests: XCTestCase {
    func testShippedScenariosLoad() throws {
        let ids = EnvironmentRegistry.ids()
        for id in ["LiquidCell-v0", "LiquidCell-v1", "BeamSensitive-v0", "DoseBudget-v0"] {
            XCTAssertTrue(ids.contains(id), "\(id) not registered: \(ids)")
            let spec = try EnvironmentRegistry.spec(id: id)
            XCTAssertEqual(spec.id, id)
        }
        let a = try EnvironmentRegistry.spec(id: "LiquidCell-v0")
        let b = try EnvironmentRegistry.spec(id: "BeamSensitive-v0")
        XCTAssertLessThan(b.damage.criticalDose, a.damage.criticalDose)
        XCTAssertNotNil(try EnvironmentRegistry.spec(id: "DoseBudget-v0").limits.doseBudget)
        // v1 is v0 with the fitted latent prior, nothing else.
        var v1 = try EnvironmentRegistry.spec(id: "LiquidCell-v1")
        XCTAssertEqual(v1.latent.prior, .fitted)
        XCTAssertEqual(a.latent.prior, .standard)
        v1.id = a.id
        v1.description = a.description
        v1.latent.prior = .standard
        v1.sourceFile = a.sourceFile
        XCTAssertEqual(v1, a)
        // MixedSensitivity-v0 is LiquidCell-v2 with hidden per-particle beam sensitivity, nothing else.
        let v2 = try EnvironmentRegistry.spec(id: "LiquidCell-v2")
        var mixed = try EnvironmentRegistry.spec(id: "MixedSensitivity-v0")
        XCTAssertEqual(mixed.damage.sensitivitySpread, 1)
        mixed.damage.sensitivitySpread = nil
        mixed.id = v2.id
        mixed.description = v2.description
        mixed.sourceFile = v2.sourceFile
        XCTAssertEqual(mixed, v2)
        // MixedSample-v0 adds hidden contrast: the contrast constants at C = 0.05 (c = 12 nm / C, N_det = 25 / C²).
        var sample = try EnvironmentRegistry.spec(id: "MixedSample-v0")
        XCTAssertEqual(sample.noise.precisionConstant, 12 / 0.05, accuracy: 1e-9)
        XCTAssertEqual(sample.noise.detectionElectrons, 25 / (0.05 * 0.05), accuracy: 1e-6)
        XCTAssertEqual(sample.noise.contrastSpread, 0.6)
        XCTAssertEqual(sample.damage.sensitivitySpread, 1)
        sample.noise = v2.noise
        sample.damage = v2.damage
        sample.id = v2.id
        sample.description = v2.description
        sample.sourceFile = v2.sourceFile
        XCTAssertEqual(sample, v2)
        XCTAssertThrowsError(try EnvironmentRegistry.spec(id: "NoSuch-v9")) { error in
            XCTAssertTrue("\(error)".contains("LiquidCell-v0"), "lists the known IDs: \(error)")
        }
    }

    func testMalformedSpecsNameTheField() throws {
        let original = try String(
            contentsOfFile: EnvironmentRegistry.directory + "/LiquidCell-v0.json", encoding: .utf8)
        func load(_ text: String) -> String {
            let path = NSTemporaryDirectory() + "spec-\(getpid())-\(UUID().uuidString).json"
            try! text.write(toFile: path, atomically: true, encoding: .utf8)
            do {
                _ = try LiquidCellSpec.load(path)
                return "no error"
            } catch { return "\(error)" }
        }
        XCTAssertTrue(
            load(original.replacingOccurrences(of: "\"destroyedAt\": 0.95", with: "\"destroyedAt\": 1.5")).contains(
                "damage.destroyedAt"))
        XCTAssertTrue(
            load(original.replacingOccurrences(of: "\"baseFrameRate\": 25", with: "\"baseFrameRate\": 10")).contains(
                "field 'frameRateRange' must end at or below baseFrameRate = 10.0"))
        XCTAssertTrue(
            load(original.replacingOccurrences(of: "\"precisionConstant\": 400,", with: "")).contains(
                "noise.precisionConstant"))
        XCTAssertTrue(
            load(original.replacingOccurrences(of: "\"timeBudget\": 320", with: "\"timeBudget\": \"long\"")).contains(
                "limits.timeBudget"))
        XCTAssertTrue(
            load(original.replacingOccurrences(of: "\"prior\": \"standard\"", with: "\"prior\": \"gaussian\""))
                .contains("latent.prior"))
        XCTAssertTrue(load("{ not json").contains("not valid JSON"))
        XCTAssertTrue(load(original).contains("no error"))
    }
}

/// An environment whose observations ignore the seed: the checker must catch it.
struct Nondeterministic: Environment {
    var counter = 0
    var observationSpace: Box { Box(shape: [1], low: 0, high: 1e9) }
    var actionSpace: Discrete { Discrete(2) }
    mutating func reset(seed: UInt64?, options: [String: Double]) throws -> ([Float], Info) {
        counter += 1
        return ([Float(counter)], [:])
    }
    mutating func step(_ action: Int) throws -> Step<[Float]> {
        counter += 1
        return Step(observation: [Float(counter)], reward: 0, terminated: false, truncated: false)
    }
}

/// An environment that silently clamps bad actions: the checker must catch it.
struct Clamping: Environment {
    var t = 0
    var observationSpace: Box { Box(shape: [1], low: 0, high: 100) }
    var actionSpace: Discrete { Discrete(2) }
    mutating func reset(seed: UInt64?, options: [String: Double]) throws -> ([Float], Info) {
        t = 0
        return ([0], [:])
    }
    mutating func step(_ action: Int) throws -> Step<[Float]> {
        t += 1
        return Step(observation: [Float(min(action, 1))], reward: 0, terminated: false, truncated: false)
    }
}

extension SpecTests {
    /// `LiquidCellSpec.fields` and `otherFields` name every key a spec's JSON holds, each once, and every numeric
    /// field reads the value that the JSON holds: a field added to the struct without its row fails here.
    func testTheFieldTableCoversEveryField() throws {
        let spec = try EnvironmentRegistry.spec(id: "MixedSample-v0")
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: encoder.encode(spec)) as? [String: Any])
        var paths: [String: Any] = [:]
        for (key, value) in json {
            if let nested = value as? [String: Any] {
                for (k, v) in nested { paths[key + "." + k] = v }
            } else {
                paths[key] = value
            }
        }
        let table = LiquidCellSpec.fields.map(\.path) + LiquidCellSpec.otherFields
        XCTAssertEqual(Set(table).count, table.count, "each field once")
        // Optional fields absent from this spec are still in the table; everything the JSON holds is.
        XCTAssertTrue(
            Set(paths.keys).isSubset(of: Set(table)), "not in the table: \(Set(paths.keys).subtracting(table))")
        XCTAssertEqual(Set(LiquidCellSpec.knownFields[""]!), Set(LiquidCellSpec.codingKeys))
        for field in LiquidCellSpec.fields {
            guard let value = paths[field.path] else {
                XCTAssertTrue(field.optional, "\(field.path) is required but absent")
                continue
            }
            let numbers =
                (value as? [Double]) ?? (value as? Double).map { [$0] } ?? (value as? Int).map { [Double($0)] }
            XCTAssertEqual(field.read(spec), numbers, field.path)
        }
    }

    /// docs/environment.md carries the generated table, as `gym-runner list --spec-fields` prints it.
    func testTheDocumentedRangeTableIsTheGeneratedOne() throws {
        var root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: root.appendingPathComponent("Package.swift").path) {
            root = root.deletingLastPathComponent()
        }
        let doc = try String(contentsOf: root.appendingPathComponent("docs/environment.md"), encoding: .utf8)
        let begin = try XCTUnwrap(
            doc.range(of: "-->\n", range: try XCTUnwrap(doc.range(of: "<!-- spec-fields:")).upperBound..<doc.endIndex))
        let end = try XCTUnwrap(doc.range(of: "<!-- end spec-fields -->"))
        XCTAssertEqual(String(doc[begin.upperBound..<end.lowerBound]), LiquidCellSpec.fieldTable)
    }

    /// Every field's range is enforced: just outside it, the spec is refused naming the field.
    func testEveryFieldsRangeIsEnforced() throws {
        let base = try EnvironmentRegistry.spec(id: "LiquidCell-v2")
        let encoder = JSONEncoder()
        for field in LiquidCellSpec.fields where field.kind == .scalar && field.path != "segmentFrames" {
            var json = try XCTUnwrap(JSONSerialization.jsonObject(with: encoder.encode(base)) as? [String: Any])
            let parts = field.path.split(separator: ".").map(String.init)
            let bad = field.range.upperBound * 10 + 10
            if parts.count == 1 {
                json[parts[0]] = bad
            } else {
                var nested = json[parts[0]] as? [String: Any] ?? [:]
                nested[parts[1]] = field.path == "limits.maxSteps" ? Double(Int(bad)) : bad
                json[parts[0]] = nested
            }
            let data = try JSONSerialization.data(withJSONObject: json)
            XCTAssertThrowsError(try LiquidCellSpec.decode(data, file: "spec.json"), field.path) { error in
                XCTAssertTrue(
                    "\(error)".contains(field.path) || "\(error)".contains("baseFrameRate"), "\(field.path): \(error)")
            }
        }
    }
}
