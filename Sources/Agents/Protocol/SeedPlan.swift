import Foundation

/// The seeds of the experiment protocol, named once. Each purpose has its own range, so that no episode used for
/// training or for choosing (a policy, a fixed setting) is ever used for the final test:
/// - training episode k of a run with seed s: (s · `trainingStride` + k) with the top bit set, so at least 2⁶³;
/// - test episode i: `testBase` + i (`gym-runner train`'s summary, `evaluate`'s default);
/// - the built-in sweep that finds the best fixed setting: `sweepBase` + i;
/// - validation (periodic evaluation and policy selection): `validationBase` + i;
/// - tuning (choosing hyper-parameters, `gym-runner train --evaluate-on tuning`): `tuningBase` + i = 4,000,000 + i,
///   the same in every plan.
///
/// The evaluation ranges lie far below 2⁶³ and 10⁶ apart, more than any episode count the CLI accepts, so the four
/// never meet. Version 1, used by runs before this plan was recorded, put training episodes at s · 1,000,003 + k,
/// which met the test seeds for s = 1 (episode k was test seed k + 3) and the validation seeds for s = 3; it is kept
/// only so that such a run resumes exactly.
public struct SeedPlan: Codable, Equatable, Sendable {
    /// 2: training seeds at or above 2⁶³; 1: the old, overlapping plan.
    public var version: Int
    public var trainingStride: UInt64
    public var testBase: UInt64
    public var sweepBase: UInt64
    public var validationBase: UInt64

    enum CodingKeys: String, CodingKey {
        case version
        case trainingStride = "training_stride"
        case testBase = "test_base"
        case sweepBase = "sweep_base"
        case validationBase = "validation_base"
    }

    /// The plan every new `gym-runner` run uses.
    public static let standard = SeedPlan(
        version: 2, trainingStride: 1_000_003, testBase: 1_000_000, sweepBase: 2_000_000, validationBase: 3_000_000)
    /// The plan of runs whose config.json records none (training seeds overlapped the test and validation seeds).
    public static let legacy = SeedPlan(
        version: 1, trainingStride: 1_000_003, testBase: 1_000_000, sweepBase: 2_000_000, validationBase: 3_000_000)

    public init(version: Int, trainingStride: UInt64, testBase: UInt64, sweepBase: UInt64, validationBase: UInt64) {
        self.version = version
        self.trainingStride = trainingStride
        self.testBase = testBase
        self.sweepBase = sweepBase
        self.validationBase = validationBase
    }

    /// The seed of training episode `episode` of a run seeded `seed`.
    public func trainingSeed(_ seed: UInt64, episode: Int) -> UInt64 {
        let s = seed &* trainingStride &+ UInt64(episode)
        return version >= 2 ? s | (1 << 63) : s
    }
    /// The first `count` test seeds.
    public func testSeeds(_ count: Int) -> [UInt64] { (0..<count).map { testBase &+ UInt64($0) } }
    /// The first `count` seeds of the best-fixed sweep.
    public func sweepSeeds(_ count: Int) -> [UInt64] { (0..<count).map { sweepBase &+ UInt64($0) } }
    /// Where the seeds for choosing hyper-parameters start: a final evaluation on them compares agents exactly as the
    /// test does, without touching the test seeds.
    public static let tuningBase: UInt64 = 4_000_000
    /// The first `count` tuning seeds.
    public func tuningSeeds(_ count: Int) -> [UInt64] { (0..<count).map { SeedPlan.tuningBase &+ UInt64($0) } }
    /// The first `count` validation seeds.
    public func validationSeeds(_ count: Int) -> [UInt64] { (0..<count).map { validationBase &+ UInt64($0) } }
}
