import Foundation
import XCTest
@testable import LeonardoSim
@testable import MicroscopeGym

/// `LiquidCellState`: a restored environment continues exactly as the original, the bytes round-trip exactly, and
/// a state of another spec or a damaged one is refused without changing anything.
final class LiquidCellStateTests: XCTestCase {
    /// Steps `env` with `actions`, returning every observation value, reward and info value as bit patterns.
    func trace(_ env: inout LiquidCell, _ actions: [Int]) throws -> [UInt64] {
        var out: [UInt64] = []
        for a in actions {
            if env.phase != .running { _ = try env.reset(seed: nil) }
            let s = try env.step(a)
            for key in s.observation.keys.sorted() { out += s.observation[key]!.map { UInt64($0.bitPattern) } }
            out.append(s.reward.bitPattern)
            for key in s.info.keys.sorted() { out.append(s.info[key]!.bitPattern) }
        }
        return out
    }

    func testRestoredEnvironmentContinuesBitForBit() throws {
        // Heterogeneous particles and a decoder-noise-free model: every part of the state is exercised.
        var env = TestCell.make("MixedSample-v0")
        _ = try env.reset(seed: 7)
        _ = try trace(&env, [3, 17, 25])
        let saved = env.state
        let actions = (0..<12).map { ($0 * 11) % env.actionSpace.n }
        let original = try trace(&env, actions)
        // A fresh environment (another model instance of the same spec) restored from the bytes.
        var other = TestCell.make("MixedSample-v0")
        try other.restore(try LiquidCellState(decoding: saved.encoded()))
        XCTAssertEqual(try trace(&other, actions), original)
        // Restoring rewinds the same environment too.
        try env.restore(saved)
        XCTAssertEqual(try trace(&env, actions), original)
    }

    func testEncodingRoundTripsExactly() throws {
        var env = TestCell.make()
        XCTAssertEqual(try LiquidCellState(decoding: env.state.encoded()), env.state, "before the first reset")
        _ = try env.reset(seed: 3)
        _ = try env.step(5)
        if env.rng.spareNormal == nil { _ = env.rng.normal() }  // leaves a spare normal in the generator
        XCTAssertNotNil(env.rng.spareNormal)
        let state = env.state
        XCTAssertEqual(try LiquidCellState(decoding: state.encoded()), state)
    }

    func testForeignAndDamagedStatesAreRefused() throws {
        var env = TestCell.make()
        _ = try env.reset(seed: 1)
        let bytes = env.state.encoded()
        var other = TestCell.make("BeamSensitive-v0")
        XCTAssertThrowsError(try other.restore(try LiquidCellState(decoding: bytes))) { error in
            XCTAssertTrue("\(error)".contains("another environment spec"), "\(error)")
        }
        XCTAssertThrowsError(try LiquidCellState(decoding: bytes.dropLast(8))) { error in
            XCTAssertTrue("\(error)".contains("truncated") || "\(error)".contains("ends"), "\(error)")
        }
        XCTAssertThrowsError(try LiquidCellState(decoding: bytes.dropLast(3)))
        XCTAssertThrowsError(try LiquidCellState(decoding: [UInt8](repeating: 0, count: 8 * 30))) { error in
            XCTAssertTrue("\(error)".contains("not a LiquidCell state"), "\(error)")
        }
        XCTAssertThrowsError(try LiquidCellState(decoding: bytes + [UInt8](repeating: 0, count: 8)))
        // A refused restore changes nothing.
        var fresh = TestCell.make("BeamSensitive-v0")
        _ = try fresh.reset(seed: 2)
        let before = fresh.state
        XCTAssertThrowsError(try fresh.restore(try LiquidCellState(decoding: bytes)))
        XCTAssertEqual(fresh.state, before)
    }

    func testVectorStatesRestoreEveryCopy() throws {
        var vector = LiquidCellVector(TestCell.make(), count: 3)
        _ = try vector.reset(seed: 11)
        _ = try vector.step([1, 2, 3])
        let saved = vector.states
        let first = try vector.step([4, 5, 6]).observations.map { $0["segment"]! }
        try vector.restore(saved)
        let again = try vector.step([4, 5, 6]).observations.map { $0["segment"]! }
        XCTAssertEqual(first.map { $0.map(\.bitPattern) }, again.map { $0.map(\.bitPattern) })
        XCTAssertThrowsError(try vector.restore(Array(saved.prefix(2))))
    }

    func testResetOptionErrorsNameTheirCause() throws {
        var env = TestCell.make()
        _ = try env.reset(seed: 1)
        let before = env.state
        func message(_ options: [String: Double]) -> String {
            do {
                _ = try env.reset(seed: 99, options: options)
                return "accepted"
            } catch let error as EnvironmentError {
                guard case .invalidResetOption = error else { return "wrong case: \(error)" }
                return error.description
            } catch { return "\(error)" }
        }
        XCTAssertTrue(message(["foo": 1]).contains("unknown reset option 'foo'"))
        XCTAssertTrue(message(["dose_rate": .nan]).contains("dose_rate is nan; give a finite number"))
        XCTAssertTrue(message(["frame_rate": .infinity]).contains("frame_rate is inf"))
        XCTAssertTrue(message(["dose_rate": 1e6]).contains("dose_rate 1000000.0 e⁻/Å²/s outside"))
        XCTAssertFalse(message(["dose_rate": 1e6]).contains("action"), "an option is not an action")
        // A refused reset changes nothing, not even the generator's seed.
        XCTAssertEqual(env.state, before)
    }

    func testRegistryRefusesFoldersWithoutSpecs() throws {
        let empty = NSTemporaryDirectory() + "no-specs-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: empty) }
        XCTAssertThrowsError(try EnvironmentRegistry.checkedIDs(in: empty)) { error in
            XCTAssertTrue("\(error)".contains("holds no spec file"), "\(error)")
        }
        XCTAssertThrowsError(try EnvironmentRegistry.checkedIDs(in: empty + "/missing")) { error in
            XCTAssertTrue("\(error)".contains("does not exist"), "\(error)")
        }
        XCTAssertTrue(try EnvironmentRegistry.checkedIDs().contains("LiquidCell-v2"))
    }
}
